package dev.kvslim.bench;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.serve.KvSlimServer;
import dev.kvslim.serve.ServeConfig;
import dev.kvslim.serve.auth.ApiKeys;
import dev.kvslim.serve.savings.SavingsReport;
import dev.kvslim.serve.schedule.Scheduler;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A bounded load test of the OpenAI-compatible server, in process on loopback: N concurrent streaming clients for a
 * while, each with its own prompt (mixed lengths) and greedy sampling, some of them going away mid-stream. It checks
 * that every request completes or is refused with a proper 503, that no answer is lost or mixed up (every completed
 * text equals what a sequential greedy request gave for that client's prompt before the load), and that the KV pool
 * never exceeds its budget (sampled every few milliseconds); it reports throughput and the client-side time to first
 * token and inter-token latency. {@link #compare} runs it with a compressing cache and with the uncompressed one,
 * side by side. Traffic goes to 127.0.0.1 only, and the run stops by itself.
 */
public final class ServeLoadBenchmark {

    /**
     * How the load runs.
     *
     * @param clients         concurrent streaming clients
     * @param duration        how long clients start new requests
     * @param budgetBytes     the server's KV budget
     * @param maxRunning      the scheduler's most running sequences
     * @param maxWaiting      the scheduler's waiting queue (more clients than running + waiting get 503s)
     * @param disconnectEvery every this many requests of a client, it goes away after a few tokens (0: never)
     */
    public record Options(
            int clients, Duration duration, long budgetBytes, int maxRunning, int maxWaiting, int disconnectEvery) {

        public Options {
            if (clients < 1
                    || !duration.isPositive()
                    || budgetBytes <= 0
                    || maxRunning < 1
                    || maxWaiting < 0
                    || disconnectEvery < 0) {
                throw new IllegalArgumentException("load options need clients >= 1, a positive duration and budget,"
                        + " max running >= 1, max waiting >= 0 and disconnect-every >= 0");
            }
        }
    }

    /**
     * One run's figures.
     *
     * @param cache          the cache's label
     * @param completed      requests answered in full
     * @param disconnected   requests whose client went away on purpose
     * @param refused        requests refused with 503 and Retry-After
     * @param failures       anything else: other statuses, broken streams, wrong finish reasons (should be 0)
     * @param mismatches     completed texts unlike the sequential greedy text of the client's prompt (should be 0)
     * @param tokens         tokens the server generated during the load, those of disconnected requests included
     * @param seconds        wall time of the load
     * @param ttft           client-side times to first token, seconds, sorted
     * @param itl            client-side inter-token latencies, seconds, sorted
     * @param peakUsedBytes  the most KV bytes in use seen by the sampler
     * @param budgetBytes    the KV budget
     * @param leftBlocks     blocks still in use once every client was done (should be 0)
     */
    public record Result(
            String cache,
            int completed,
            int disconnected,
            int refused,
            int failures,
            int mismatches,
            long tokens,
            double seconds,
            double[] ttft,
            double[] itl,
            long peakUsedBytes,
            long budgetBytes,
            int leftBlocks) {

        public double tokensPerSecond() {
            return tokens / seconds;
        }

        /** Whether the server kept every promise: nothing failed, mixed up, leaked or over the budget. */
        public boolean correct() {
            return failures == 0 && mismatches == 0 && leftBlocks == 0 && peakUsedBytes <= budgetBytes;
        }
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String[] STARTS = {
        "Once upon a time",
        "The little dog",
        "Lily and Ben went to the park",
        "One day",
        "There was a big red ball that",
        "Tom liked to",
        "The sun was",
        "A girl named Sue",
        "The cat sat on the mat and",
        "Sam had a toy car",
        "In the garden there was a",
        "Mom said it was time to",
        "The bird could not fly because",
        "Max wanted to play",
        "It was a cold winter day",
        "The boy found a shiny",
    };
    private static final String[] TURNS = {
        "", " and then", " but", " so they", " because", " when suddenly", " and the friends", " after lunch"
    };
    private static final int[] MAX_TOKENS = {24, 48, 96, 160};

    private ServeLoadBenchmark() {}

    /**
     * A budget that fits {@code sequences} uncompressed sequences of the longest request of {@code clients} clients:
     * tight enough that the clients contend for memory.
     */
    public static long defaultBudget(LoadedModel model, int clients, int sequences) {
        int longest = 0;
        for (int i = 0; i < clients; i++) {
            longest = Math.max(longest, model.tokenizer().encode(prompt(i), true).length + maxTokens(i));
        }
        return sequences * SavingsReport.uncompressedBytes(model.model().config(), longest, KvType.F32);
    }

    /** Client {@code i}'s prompt: distinct per client, of mixed lengths (some with a longer lead-in). */
    static String prompt(int i) {
        String lead = "Once upon a time there was a little girl who loved to play outside. "
                .repeat(i % 4 == 3 ? 1 + i / 16 % 3 : 0);
        return lead
                + STARTS[i % STARTS.length]
                + TURNS[i / STARTS.length % TURNS.length]
                + (i >= STARTS.length * TURNS.length ? " " + i : "");
    }

    static int maxTokens(int i) {
        return MAX_TOKENS[i % MAX_TOKENS.length];
    }

    private static String body(String model, int i) {
        return "{\"model\": \"" + model + "\", \"prompt\": " + JSON.valueToTree(prompt(i)) + ", \"max_tokens\": "
                + maxTokens(i) + ", \"temperature\": 0, \"ignore_eos\": true, \"stream\": true}";
    }

    /** Runs the load with {@code compressed} and then with the uncompressed cache, and prints them side by side. */
    public static List<Result> compare(
            LoadedModel model, KvCacheSpec.Paged compressed, Options options, PrintStream out) throws Exception {
        out.printf(
                Locale.ROOT,
                "serve load: %d streaming clients for %d s, KV budget %,d bytes, max running %d,"
                        + " max waiting %d, every %d-th request of a client disconnects early%n",
                options.clients(),
                options.duration().toSeconds(),
                options.budgetBytes(),
                options.maxRunning(),
                options.maxWaiting(),
                options.disconnectEvery());
        List<Result> results = List.of(run(model, compressed, options), run(model, KvCacheSpec.keepAll(), options));
        out.printf(
                Locale.ROOT,
                "%-32s %18s %18s%n",
                "",
                results.get(0).cache(),
                results.get(1).cache());
        row(out, "requests completed", results, r -> Integer.toString(r.completed()));
        row(out, "disconnected on purpose", results, r -> Integer.toString(r.disconnected()));
        row(out, "refused with 503", results, r -> Integer.toString(r.refused()));
        row(out, "failed / mixed up", results, r -> r.failures() + " / " + r.mismatches());
        row(out, "throughput (tokens/s)", results, r -> String.format(Locale.ROOT, "%.1f", r.tokensPerSecond()));
        row(
                out,
                "TTFT p50 / p99 (ms)",
                results,
                r -> String.format(
                        Locale.ROOT, "%.1f / %.1f", 1e3 * percentile(r.ttft(), 50), 1e3 * percentile(r.ttft(), 99)));
        row(
                out,
                "inter-token p50 / p99 (ms)",
                results,
                r -> String.format(
                        Locale.ROOT, "%.2f / %.2f", 1e3 * percentile(r.itl(), 50), 1e3 * percentile(r.itl(), 99)));
        row(
                out,
                "peak KV use / budget",
                results,
                r -> String.format(Locale.ROOT, "%.1f%%", 100.0 * r.peakUsedBytes() / r.budgetBytes()));
        row(out, "blocks left after", results, r -> Integer.toString(r.leftBlocks()));
        for (Result r : results) {
            if (!r.correct()) {
                out.printf(
                        "FAILED with the %s cache: %d failures, %d mixed-up texts, %d blocks leaked, peak %,d of %,d"
                                + " bytes%n",
                        r.cache(), r.failures(), r.mismatches(), r.leftBlocks(), r.peakUsedBytes(), r.budgetBytes());
            }
        }
        return results;
    }

    private static void row(
            PrintStream out, String name, List<Result> results, java.util.function.Function<Result, String> cell) {
        out.printf(Locale.ROOT, "%-32s %18s %18s%n", name, cell.apply(results.get(0)), cell.apply(results.get(1)));
    }

    /** The {@code p}-th percentile of sorted {@code values} (nearest rank), NaN if none. */
    static double percentile(double[] values, double p) {
        if (values.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100 * values.length);
        return values[Math.max(0, Math.min(values.length - 1, rank - 1))];
    }

    /** One load run with {@code cache}. */
    public static Result run(LoadedModel model, KvCacheSpec.Paged cache, Options o) throws Exception {
        String name = "load";
        ServeConfig config = ServeConfig.defaults()
                .withPort(0)
                .withKeys(ApiKeys.OPEN)
                .withKvBudget(o.budgetBytes())
                .withShutdownGrace(Duration.ofSeconds(10))
                .withScheduling(new Scheduler.Options(
                        Math.max(256, o.maxRunning()), o.maxRunning(), o.maxWaiting(), Duration.ZERO));
        try (KvSlimServer server = KvSlimServer.start(Map.of(name, model), config, cache)) {
            Scheduler scheduler = server.models().getFirst().scheduler();
            int port = server.port();
            // what each client must get: its prompt alone, greedy, before any load
            String[] expected = new String[o.clients()];
            for (int i = 0; i < o.clients(); i++) {
                Stream s = stream(port, body(name, i), Integer.MAX_VALUE);
                if (s.status != 200 || !"length".equals(s.finishReason)) {
                    throw new IllegalStateException(
                            "the sequential run of client " + i + " failed: " + s.status + " " + s.error);
                }
                expected[i] = s.text.toString();
            }
            long tokensBefore = scheduler.stats().generatedTokens();
            LongAccumulator peak = new LongAccumulator(Math::max, 0);
            Thread sampler = Thread.ofPlatform().daemon().start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    peak.accumulate(scheduler.pool().usedBytes());
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            AtomicInteger completed = new AtomicInteger(),
                    disconnected = new AtomicInteger(),
                    refused = new AtomicInteger(),
                    failures = new AtomicInteger(),
                    mismatches = new AtomicInteger();
            List<Double> ttft = Collections.synchronizedList(new ArrayList<>());
            List<Double> itl = Collections.synchronizedList(new ArrayList<>());
            AtomicLong firstFailure = new AtomicLong();
            long start = System.nanoTime();
            long deadline = start + o.duration().toNanos();
            try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> all = new ArrayList<>();
                for (int c = 0; c < o.clients(); c++) {
                    int i = c;
                    all.add(clients.submit(() -> {
                        for (int k = 0; System.nanoTime() < deadline; k++) {
                            boolean leave =
                                    o.disconnectEvery() > 0 && (k + i) % o.disconnectEvery() == o.disconnectEvery() - 1;
                            Stream s;
                            try {
                                s = stream(port, body(name, i), leave ? 3 : Integer.MAX_VALUE);
                            } catch (IOException e) {
                                failures.incrementAndGet();
                                firstFailure.compareAndSet(0, 1);
                                continue;
                            }
                            if (s.status == 503 && s.retryAfter != null) {
                                refused.incrementAndGet();
                                Thread.sleep(50 + (i % 8) * 10);
                                continue;
                            }
                            if (s.status != 200) {
                                failures.incrementAndGet();
                                continue;
                            }
                            ttft.add(s.ttft);
                            itl.addAll(s.itl);
                            if (leave) {
                                disconnected.incrementAndGet();
                            } else if (!"length".equals(s.finishReason) || !s.done) {
                                failures.incrementAndGet();
                            } else if (!s.text.toString().equals(expected[i])) {
                                mismatches.incrementAndGet();
                            } else {
                                completed.incrementAndGet();
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : all) {
                    f.get();
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            long tokens = scheduler.stats().generatedTokens() - tokensBefore;
            for (int i = 0; i < 5000 && scheduler.pool().usedBlocks() > 0; i++) {
                Thread.sleep(1); // the last disconnects are noticed at the engine's next step
            }
            sampler.interrupt();
            sampler.join();
            peak.accumulate(scheduler.stats().peakUsedBytes());
            return new Result(
                    cache.label(),
                    completed.get(),
                    disconnected.get(),
                    refused.get(),
                    failures.get(),
                    mismatches.get(),
                    tokens,
                    seconds,
                    sorted(ttft),
                    sorted(itl),
                    peak.get(),
                    o.budgetBytes(),
                    scheduler.pool().usedBlocks());
        }
    }

    private static double[] sorted(List<Double> values) {
        double[] a;
        synchronized (values) {
            a = values.stream().mapToDouble(Double::doubleValue).toArray();
        }
        Arrays.sort(a);
        return a;
    }

    /** What one streamed request got. */
    private static final class Stream {
        int status;
        String retryAfter;
        String error;
        final StringBuilder text = new StringBuilder();
        String finishReason;
        boolean done;
        double ttft = Double.NaN;
        final List<Double> itl = new ArrayList<>();
    }

    /** Streams one request, going away after {@code keepTokens} token events. */
    private static Stream stream(int port, String body, int keepTokens) throws IOException {
        Stream s = new Stream();
        long sent = System.nanoTime(), last = 0;
        try (SseClient c = new SseClient(port, "/v1/completions", body)) {
            s.status = c.status();
            s.retryAfter = c.header("Retry-After");
            if (s.status != 200) {
                s.error = c.rest();
                return s;
            }
            int tokens = 0;
            for (String e; (e = c.nextEvent()) != null; ) {
                if (e.equals("[DONE]")) {
                    s.done = true;
                    break;
                }
                long now = System.nanoTime();
                JsonNode choice = JSON.readTree(e).get("choices").get(0);
                if (tokens == 0) {
                    s.ttft = (now - sent) / 1e9;
                } else {
                    s.itl.add((now - last) / 1e9);
                }
                last = now;
                tokens++;
                s.text.append(choice.get("text").asString());
                JsonNode finish = choice.get("finish_reason");
                if (finish != null && !finish.isNull()) {
                    s.finishReason = finish.asString();
                }
                if (tokens >= keepTokens) {
                    break; // closing the socket is the client going away
                }
            }
        }
        return s;
    }
}
