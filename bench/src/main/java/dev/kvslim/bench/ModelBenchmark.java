package dev.kvslim.bench;

import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.MatmulBackend;
import dev.kvslim.core.tensor.Parallel;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import java.util.stream.Collectors;

/**
 * Prefill and decode speed of one model file, measured as llama.cpp's {@code llama-bench} measures them: a warm-up
 * run (which compiles the hot paths: the same steps with at most 512 tokens of depth and of prompt), then {@code repeats} runs of: {@code depth} tokens put in a fresh cache
 * (not timed), a prompt of {@code promptTokens} random token ids in batches of up to 512 (prefill), then
 * {@code decodeTokens} greedy steps of one token (decode). Speeds are reported as the median and the best run.
 */
public final class ModelBenchmark {

    /** Largest batch of one forward pass during prefill, as llama.cpp's default. */
    public static final int PREFILL_BATCH = 512;

    /**
     * @param promptTokens  prompt length for prefill
     * @param decodeTokens  greedy steps after the prompt
     * @param depth         tokens already in the cache before the prompt
     * @param repeats       measured runs after the warm-up
     * @param cacheLabel    how the cache is described in the output
     */
    public record Options(int promptTokens, int decodeTokens, int depth, int repeats, String cacheLabel) {

        public Options {
            if (promptTokens < 1 || decodeTokens < 1 || depth < 0 || repeats < 1) {
                throw new IllegalArgumentException(
                        "bench needs --prompt-tokens >= 1, --decode-tokens >= 1, --depth >= 0" + " and --repeats >= 1");
            }
        }
    }

    /** One measurement, as {@code --json} prints it. */
    public record Result(
            String model,
            String type,
            int threads,
            String matmul,
            String cache,
            int promptTokens,
            int decodeTokens,
            int depth,
            double prefillTokensPerS,
            double prefillBestTokensPerS,
            double decodeTokensPerS,
            double decodeBestTokensPerS,
            long rssBytes,
            long weightBytes) {

        public String json() {
            return String.format(
                    Locale.ROOT,
                    "{\"model\": \"%s\", \"type\": \"%s\", \"threads\": %d, \"matmul\": \"%s\", \"cache\": \"%s\","
                            + " \"prompt_tokens\": %d, \"decode_tokens\": %d, \"depth\": %d, \"prefill_tokens_per_s\": %.2f,"
                            + " \"prefill_best_tokens_per_s\": %.2f, \"decode_tokens_per_s\": %.2f,"
                            + " \"decode_best_tokens_per_s\": %.2f, \"rss_bytes\": %d, \"weight_bytes\": %d}",
                    escape(model),
                    type,
                    threads,
                    matmul,
                    escape(cache),
                    promptTokens,
                    decodeTokens,
                    depth,
                    prefillTokensPerS,
                    prefillBestTokensPerS,
                    decodeTokensPerS,
                    decodeBestTokensPerS,
                    rssBytes,
                    weightBytes);
        }
    }

    /** {@code s} as the inside of a JSON string (these names hold no control characters). */
    static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    private ModelBenchmark() {}

    /** Measures {@code model} (named {@code name}) with caches from {@code newCache} (capacity in positions). */
    public static Result run(String name, Model model, IntFunction<KvCache> newCache, Options o) {
        int vocab = model.config().vocabSize();
        int positions = o.depth() + o.promptTokens() + o.decodeTokens();
        if (positions > model.config().contextLength()) {
            throw new IllegalArgumentException("depth + prompt + decode tokens (" + positions + ") exceed the model's"
                    + " context of " + model.config().contextLength());
        }
        int[] tokens = new SplittableRandom(7)
                .ints(o.depth() + o.promptTokens(), 0, vocab)
                .toArray();
        Model.State batch = model.newState(Math.min(PREFILL_BATCH, Math.max(o.promptTokens(), o.depth())));
        Model.State one = model.newState(1);
        double[] prefill = new double[o.repeats()], decode = new double[o.repeats()];
        long rss = 0;
        for (int r = -1; r < o.repeats(); r++) {
            // run -1 warms up: the same paths, at most a batch of depth and of prompt (a 32K fill twice was minutes)
            boolean warmUp = r < 0;
            int depth = warmUp ? Math.min(o.depth(), PREFILL_BATCH) : o.depth();
            int prompt = warmUp ? Math.min(o.promptTokens(), PREFILL_BATCH) : o.promptTokens();
            int steps = warmUp ? Math.min(o.decodeTokens(), 32) : o.decodeTokens();
            KvCache cache = newCache.apply(positions);
            if (depth > 0) {
                model.forward(batch, tokens, 0, depth, 0, cache);
            }
            long t0 = System.nanoTime();
            float[] logits = model.forward(batch, tokens, depth, prompt, depth, cache);
            long t1 = System.nanoTime();
            int[] token = {Sampler.argmax(logits)};
            int pos = depth + prompt;
            long t2 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                token[0] = Sampler.argmax(model.forward(one, token, 0, 1, pos + i, cache));
            }
            long t3 = System.nanoTime();
            if (r >= 0) {
                prefill[r] = o.promptTokens() * 1e9 / (t1 - t0);
                decode[r] = o.decodeTokens() * 1e9 / (t3 - t2);
                rss = Math.max(rss, residentBytes());
            }
        }
        long weights = 0;
        for (FloatTensor t : model.weights().matrices()) {
            weights += t.byteSize();
        }
        return new Result(
                name,
                typeLabel(model),
                Parallel.threads(),
                MatmulBackend.configured().name().toLowerCase(Locale.ROOT),
                o.cacheLabel(),
                o.promptTokens(),
                o.decodeTokens(),
                o.depth(),
                EngineBenchmark.median(prefill),
                max(prefill),
                EngineBenchmark.median(decode),
                max(decode),
                rss,
                weights);
    }

    /** The model's matrix types by the bytes they take, largest first: "Q4_K+Q6_K". */
    static String typeLabel(Model model) {
        Map<GgmlType, Long> bytes = new EnumMap<>(GgmlType.class);
        for (FloatTensor t : model.weights().matrices()) {
            bytes.merge(t.type(), t.byteSize(), Long::sum);
        }
        return bytes.entrySet().stream()
                .sorted(Map.Entry.<GgmlType, Long>comparingByValue(Comparator.reverseOrder()))
                .map(e -> e.getKey().name())
                .collect(Collectors.joining("+"));
    }

    /** A table of results, one row each. */
    public static void print(List<Result> results, PrintStream out) {
        out.printf(
                "%-28s %-12s %3s %-12s %6s %6s %13s %12s %9s%n",
                "model", "type", "thr", "cache", "prompt", "depth", "prefill t/s", "decode t/s", "RSS MiB");
        for (Result r : results) {
            out.printf(
                    Locale.ROOT,
                    "%-28s %-12s %3d %-12s %6d %6d %6.1f (%5.1f) %5.2f (%5.2f) %9.0f%n",
                    r.model(),
                    r.type(),
                    r.threads(),
                    r.cache(),
                    r.promptTokens(),
                    r.depth(),
                    r.prefillTokensPerS(),
                    r.prefillBestTokensPerS(),
                    r.decodeTokensPerS(),
                    r.decodeBestTokensPerS(),
                    r.rssBytes() / 1048576.0);
        }
        out.println("batched products: " + results.getFirst().matmul()
                + "; medians of the runs, best run in brackets; decode: "
                + results.getFirst().decodeTokens() + " greedy tokens after depth + prompt");
    }

    private static double max(double[] v) {
        double m = 0;
        for (double d : v) {
            m = Math.max(m, d);
        }
        return m;
    }

    /** Resident set of this process (Linux {@code /proc/self/status}), or 0 where that is not there. */
    public static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }
}
