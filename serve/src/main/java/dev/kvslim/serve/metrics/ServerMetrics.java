package dev.kvslim.serve.metrics;

import dev.kvslim.serve.schedule.FinishReason;
import dev.kvslim.serve.schedule.Scheduler;
import dev.kvslim.serve.schedule.SchedulerObserver;
import dev.kvslim.serve.schedule.SchedulerStats;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The server's Prometheus metrics, named like vLLM's ({@code vllm:} becomes {@code kvslim:}) so existing dashboards
 * carry over, plus what KV compression adds: bytes kept, compression ratio per model and per layer, tokens evicted.
 * Gauges are read from each scheduler's latest {@link SchedulerStats} at scrape time; counters and histograms are fed
 * by the {@link SchedulerObserver} of each model ({@link #observer}) and by the API keys' usage ({@link #keyUsed}).
 * Every model metric carries {@code model_name}, as vLLM's do.
 */
public final class ServerMetrics {

    /** Latency buckets (seconds) of vLLM's time-to-first-token histogram. */
    private static final double[] TTFT_BUCKETS = {
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0
    };
    /** Buckets of vLLM's inter-token latency histogram. */
    private static final double[] ITL_BUCKETS = {
        0.001, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
        5.0
    };
    /** Buckets of vLLM's end-to-end and queue-time histograms. */
    private static final double[] REQUEST_BUCKETS = {
        0.01, 0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0
    };

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Map<String, Scheduler> schedulers = new ConcurrentHashMap<>();
    private final Counter promptTokens = counter("kvslim:prompt_tokens", "Prompt tokens admitted.", "model_name");
    private final Counter generationTokens = counter("kvslim:generation_tokens", "Tokens generated.", "model_name");
    private final Counter success =
            counter("kvslim:request_success", "Sequences finished, by finish reason.", "model_name", "finished_reason");
    private final Counter computedTokens = counter(
            "kvslim:computed_tokens",
            "Tokens run through the model: prompt tokens prefilled and decode tokens (prefix caching saves some).",
            "model_name");
    private final Counter prefixQueries = counter(
            "kvslim:prefix_cache_queries", "Prompt tokens looked up in the prefix cache (vLLM's name).", "model_name");
    private final Counter prefixHits = counter(
            "kvslim:prefix_cache_hits", "Prompt tokens found in the prefix cache, not prefilled.", "model_name");
    private final Counter preemptions =
            counter("kvslim:num_preemptions", "Sequences preempted to free KV memory.", "model_name");
    private final Counter evicted = counter(
            "kvslim:kv_tokens_evicted",
            "Tokens the KV cache evicted (DMS or a policy), counted per (layer, KV head) entry.",
            "model_name");
    private final Histogram ttft = histogram(
            "kvslim:time_to_first_token_seconds", "Time from arrival to the first generated token.", TTFT_BUCKETS);
    private final Histogram interToken = histogram(
            "kvslim:inter_token_latency_seconds", "Time between consecutive tokens of a sequence.", ITL_BUCKETS);
    private final Histogram e2e = histogram(
            "kvslim:e2e_request_latency_seconds", "Time from arrival to the end of a sequence.", REQUEST_BUCKETS);
    private final Histogram queueTime = histogram(
            "kvslim:request_queue_time_seconds",
            "Time a sequence waited for KV memory before its first admission.",
            REQUEST_BUCKETS);
    private final Counter keyRequests = counter("kvslim:api_key_requests", "Requests per API key.", "key");
    private final Counter keyPromptTokens =
            counter("kvslim:api_key_prompt_tokens", "Prompt tokens per API key.", "key");
    private final Counter keyCompletionTokens =
            counter("kvslim:api_key_completion_tokens", "Completion tokens per API key.", "key");

    public ServerMetrics() {
        gauge("kvslim:num_requests_running", "Sequences holding KV memory.", s -> s.running());
        gauge("kvslim:num_requests_waiting", "Sequences waiting for KV memory.", s -> s.waiting());
        gauge(
                "kvslim:kv_cache_usage_perc",
                "Fraction of the KV budget in blocks in use (0 to 1).",
                s -> s.budgetBytes() == 0 ? 0 : s.usedBytes() / (double) s.budgetBytes());
        gauge("kvslim:kv_cache_usage_bytes", "Bytes of KV blocks in use.", s -> s.usedBytes());
        gauge("kvslim:kv_cache_budget_bytes", "The KV budget in bytes.", s -> s.budgetBytes());
        gauge(
                "kvslim:kv_cache_live_bytes",
                "Bytes of the keys and values the running caches keep.",
                s -> s.liveBytes());
        gauge(
                "kvslim:kv_compression_ratio",
                "Tokens seen over tokens kept, over the running caches (1 when none).",
                s -> s.compressionRatio());
        GaugeWithCallback.builder()
                .name("kvslim:kv_compression_ratio_per_layer")
                .help("Tokens seen over tokens kept in one layer, over the running caches.")
                .labelNames("model_name", "layer")
                .callback(cb -> schedulers.forEach((model, scheduler) -> {
                    double[] ratios = scheduler.stats().layerRatios();
                    for (int l = 0; l < ratios.length; l++) {
                        cb.call(ratios[l], model, Integer.toString(l));
                    }
                }))
                .register(registry);
    }

    private void gauge(String name, String help, java.util.function.ToDoubleFunction<SchedulerStats> value) {
        GaugeWithCallback.builder()
                .name(name)
                .help(help)
                .labelNames("model_name")
                .callback(cb -> schedulers.forEach((model, s) -> cb.call(value.applyAsDouble(s.stats()), model)))
                .register(registry);
    }

    private Counter counter(String name, String help, String... labels) {
        return Counter.builder().name(name).help(help).labelNames(labels).register(registry);
    }

    private Histogram histogram(String name, String help, double[] buckets) {
        return Histogram.builder()
                .name(name)
                .help(help)
                .labelNames("model_name")
                .classicOnly()
                .classicUpperBounds(buckets)
                .register(registry);
    }

    /** Reports {@code scheduler}'s gauges under {@code model}. */
    public void register(String model, Scheduler scheduler) {
        schedulers.put(model, scheduler);
    }

    /** The observer feeding {@code model}'s counters and histograms. */
    public SchedulerObserver observer(String model) {
        return new SchedulerObserver() {
            @Override
            public void admitted(double queueSeconds, int prompt) {
                queueTime.labelValues(model).observe(queueSeconds);
                promptTokens.labelValues(model).inc(prompt);
            }

            @Override
            public void firstToken(double seconds) {
                ttft.labelValues(model).observe(seconds);
                generationTokens.labelValues(model).inc();
            }

            @Override
            public void interToken(double seconds) {
                interToken.labelValues(model).observe(seconds);
                generationTokens.labelValues(model).inc();
            }

            @Override
            public void computed(int tokens) {
                computedTokens.labelValues(model).inc(tokens);
            }

            @Override
            public void prefixCache(int tokens, int hits) {
                prefixQueries.labelValues(model).inc(tokens);
                prefixHits.labelValues(model).inc(hits);
            }

            @Override
            public void preempted() {
                preemptions.labelValues(model).inc();
            }

            @Override
            public void evicted(long entries) {
                evicted.labelValues(model).inc(entries);
            }

            @Override
            public void finished(FinishReason reason, int prompt, int completion, double seconds) {
                success.labelValues(model, reason.apiName()).inc();
                e2e.labelValues(model).observe(seconds);
            }
        };
    }

    /** Counts one request of the API key named {@code key} and its tokens. */
    public void keyUsed(String key, int prompt, int completion) {
        keyRequests.labelValues(key).inc();
        keyPromptTokens.labelValues(key).inc(prompt);
        keyCompletionTokens.labelValues(key).inc(completion);
    }

    /** Content type of {@link #write}. */
    public static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }

    /** Writes every metric in the Prometheus text format. */
    public void write(OutputStream out) throws IOException {
        PrometheusTextFormatWriter.create().write(out, registry.scrape(), EscapingScheme.ALLOW_UTF8);
    }
}
