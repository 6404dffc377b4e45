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
import java.util.List;
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

    /**
     * Under which names the gauges that load balancers and inference gateways read are exposed: ours
     * ({@code kvslim:num_requests_running}, ...), vLLM's ({@code vllm:num_requests_running},
     * {@code vllm:num_requests_waiting}, {@code vllm:kv_cache_usage_perc} and its older name
     * {@code vllm:gpu_cache_usage_perc}, {@code vllm:cache_config_info}), which the Gateway API Inference Extension's
     * endpoint picker and llm-d score replicas by, or both.
     */
    public enum Names {
        KVSLIM,
        VLLM,
        BOTH;

        public static Names parse(String text) {
            return switch (text.toLowerCase(java.util.Locale.ROOT)) {
                case "kvslim" -> KVSLIM;
                case "vllm" -> VLLM;
                case "both" -> BOTH;
                default ->
                    throw new IllegalArgumentException("metrics names are kvslim, vllm or both, got '" + text + "'");
            };
        }
    }

    /** Metrics with both our names and vLLM's for the gateways' gauges. */
    public ServerMetrics() {
        this(Names.BOTH);
    }

    public ServerMetrics(Names names) {
        List<String> prefixes = switch (names) {
            case KVSLIM -> List.of("kvslim:");
            case VLLM -> List.of("vllm:");
            case BOTH -> List.of("kvslim:", "vllm:");
        };
        for (String p : prefixes) {
            gauge(
                    p + "num_requests_running",
                    "Sequences holding KV memory.",
                    (name, sch) -> sch.stats().running());
            gauge(
                    p + "num_requests_waiting",
                    "Sequences waiting for KV memory.",
                    (name, sch) -> sch.stats().waiting());
            gauge(
                    p + "kv_cache_usage_perc",
                    "Fraction of the KV budget (0 to 1) in blocks held by sequences: for DMS the compressed caches'"
                            + " blocks; caches kept for prefix caching are not counted (they give way on demand).",
                    ServerMetrics::usage);
        }
        if (names != Names.KVSLIM) {
            gauge(
                    "vllm:gpu_cache_usage_perc",
                    "vllm:kv_cache_usage_perc under vLLM's older name.",
                    ServerMetrics::usage);
            GaugeWithCallback.builder()
                    .name("vllm:cache_config_info")
                    .help("The KV cache's configuration, in labels (value 1), as vLLM gives it.")
                    .labelNames("model_name", "block_size", "num_gpu_blocks", "cache_dtype", "enable_prefix_caching")
                    .callback(cb -> schedulers.forEach((model, s) -> cb.call(
                            1,
                            model,
                            Integer.toString(s.pool().blockSize()),
                            Integer.toString(s.pool().capacityBlocks()),
                            s.pool().type().toString().toLowerCase(java.util.Locale.ROOT),
                            Boolean.toString(s.prefixCaching()))))
                    .register(registry);
        }
        gauge(
                "kvslim:kv_cache_usage_bytes",
                "Bytes of KV blocks in use.",
                (name, s) -> s.stats().usedBytes());
        gauge(
                "kvslim:kv_cache_budget_bytes",
                "The KV budget in bytes.",
                (name, s) -> s.stats().budgetBytes());
        gauge(
                "kvslim:kv_cache_live_bytes",
                "Bytes of the keys and values the running caches keep.",
                (name, s) -> s.stats().liveBytes());
        gauge(
                "kvslim:prefix_cache_kept_bytes",
                "Bytes of KV blocks held by caches kept for prefix caching.",
                (name, s) -> s.keptBlocks() * s.pool().blockBytes());
        gauge(
                "kvslim:kv_bytes_per_token",
                "Bytes of keys and values one token takes in the cache's element type (every layer and KV head),"
                        + " before any compression.",
                (name, s) -> s.modelConfig().kvBytesPerToken(s.pool().type()));
        gauge(
                "kvslim:kv_compression_ratio",
                "Tokens seen over tokens kept, over the running caches (1 when none).",
                (name, s) -> s.stats().compressionRatio());
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

    /** Blocks held by sequences over the budget: what a gateway should route by (kept caches are reclaimable). */
    private static double usage(String model, Scheduler s) {
        SchedulerStats stats = s.stats();
        if (stats.budgetBytes() == 0) {
            return 0;
        }
        long held = Math.max(0, stats.usedBytes() - s.keptBlocks() * s.pool().blockBytes());
        return held / (double) stats.budgetBytes();
    }

    private void gauge(String name, String help, java.util.function.ToDoubleBiFunction<String, Scheduler> value) {
        GaugeWithCallback.builder()
                .name(name)
                .help(help)
                .labelNames("model_name")
                .callback(cb -> schedulers.forEach((model, s) -> cb.call(value.applyAsDouble(model, s), model)))
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

    /**
     * The names of every metric registered, as declared (a counter's without {@code _total}), whether or not it has a
     * series yet (a labelled counter nothing has counted shows nothing in the text format).
     */
    public List<String> names() {
        List<String> names = new java.util.ArrayList<>();
        for (var snapshot : registry.scrape()) {
            names.add(snapshot.getMetadata().getName());
        }
        return names;
    }

    /** Writes every metric in the Prometheus text format. */
    public void write(OutputStream out) throws IOException {
        PrometheusTextFormatWriter.create().write(out, registry.scrape(), EscapingScheme.ALLOW_UTF8);
    }
}
