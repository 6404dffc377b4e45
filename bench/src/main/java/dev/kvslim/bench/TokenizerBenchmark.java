package dev.kvslim.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import dev.kvslim.core.tokenizer.HfTokenizerJson;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Encoding speed of {@link HfTokenizerJson}'s tokenizers against Hugging Face {@code tokenizers} itself (the Rust
 * library through DJL) on the same text, encoded whole in one call and paragraph by paragraph, taking turns;
 * reports the medians of several measurements and their ratios, and checks the ids agree. Hugging Face is timed
 * twice: through DJL's {@code encode}, which also copies every token string, offset and mask into Java, and through
 * DJL's native binding fetching only the ids, which is close to the Rust library's own encoding time.
 *
 * <p>Run: {@code java -cp <bench classpath> dev.kvslim.bench.TokenizerBenchmark [--repeats N] [--text FILE]
 * tokenizer.json...}; without {@code --text}, about 1 MB of {@link BenchmarkText}.
 */
public final class TokenizerBenchmark {

    private TokenizerBenchmark() {}

    public static void main(String[] args) throws IOException {
        int repeats = 7;
        String text = null;
        int first = 0;
        while (first < args.length && args[first].startsWith("--")) {
            switch (args[first]) {
                case "--repeats" -> repeats = Integer.parseInt(args[first + 1]);
                case "--text" -> text = Files.readString(Path.of(args[first + 1]));
                default -> throw new IllegalArgumentException("unknown option " + args[first]);
            }
            first += 2;
        }
        if (first == args.length) {
            System.err.println("usage: TokenizerBenchmark [--repeats N] [--text FILE] tokenizer.json...");
            System.exit(2);
        }
        System.setProperty("offline", "true"); // DJL: no telemetry call
        if (text == null) {
            text = BenchmarkText.generate(42, 1_000_000);
        }
        PrintStream out = System.out;
        out.printf(
                "encode %,d characters (%,d UTF-8 bytes); medians of %d runs, Java %s%n",
                text.length(), text.getBytes(StandardCharsets.UTF_8).length, repeats, Runtime.version());
        out.printf(
                "%-13s %8s %7s %10s %8s %10s %12s %10s %9s %13s%n",
                "tokenizer",
                "tokens",
                "calls",
                "kvslim ms",
                "HF ms",
                "HF ids ms",
                "kvslim MB/s",
                "HF ids MB/s",
                "HF/kvslim",
                "HF ids/kvslim");
        for (int i = first; i < args.length; i++) {
            measure(out, Path.of(args[i]), text, repeats);
        }
        out.println("whole: the text in one call; paras: paragraph by paragraph. HF: Hugging Face tokenizers (Rust)"
                + " through DJL's encode(); HF ids: its native encode, ids only. A ratio above 1: kvslim is faster.");
    }

    private static void measure(PrintStream out, Path file, String text, int repeats) throws IOException {
        Tokenizer ours = HfTokenizerJson.load(file);
        String name = file.toAbsolutePath().getParent().getFileName().toString();
        try (HuggingFaceTokenizer theirs = HuggingFaceTokenizer.newInstance(
                file, Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"))) {
            String[] whole = {text};
            String[] paragraphs = text.split("(?<=\n\n)");
            double mb = text.getBytes(StandardCharsets.UTF_8).length / 1e6;
            row(out, name + " whole", checkedTokenCount(whole, ours, theirs), mb, repeats, whole, ours, theirs);
            row(
                    out,
                    name + " paras",
                    checkedTokenCount(paragraphs, ours, theirs),
                    mb,
                    repeats,
                    paragraphs,
                    ours,
                    theirs);
        }
    }

    /** The number of tokens of all {@code pieces}, after checking that both tokenizers give the same ids. */
    private static long checkedTokenCount(String[] pieces, Tokenizer ours, HuggingFaceTokenizer theirs) {
        long tokens = 0;
        for (String piece : pieces) {
            int[] ourIds = ours.encode(piece, false);
            if (!Arrays.equals(
                    Arrays.stream(ourIds).asLongStream().toArray(),
                    theirs.encode(piece).getIds())) {
                throw new IllegalStateException("the two tokenizers disagree on: " + piece);
            }
            tokens += ourIds.length;
        }
        return tokens;
    }

    /** One line of figures: the medians of encoding all of {@code pieces}, one call each, three ways. */
    private static void row(
            PrintStream out,
            String name,
            long tokens,
            double mb,
            int repeats,
            String[] pieces,
            Tokenizer ours,
            HuggingFaceTokenizer theirs) {
        double[] ourMs = new double[repeats];
        double[] theirMs = new double[repeats];
        double[] theirIdsMs = new double[repeats];
        for (int r = -2; r < repeats; r++) { // two rounds of warm-up, not counted
            long t0 = System.nanoTime();
            for (String piece : pieces) {
                ours.encode(piece, false);
            }
            long t1 = System.nanoTime();
            for (String piece : pieces) {
                theirs.encode(piece);
            }
            long t2 = System.nanoTime();
            for (String piece : pieces) {
                long encoding = TokenizersLibrary.LIB.encode(theirs.getHandle(), piece, false);
                TokenizersLibrary.LIB.getTokenIds(encoding);
                TokenizersLibrary.LIB.deleteEncoding(encoding);
            }
            long t3 = System.nanoTime();
            if (r >= 0) {
                ourMs[r] = (t1 - t0) / 1e6;
                theirMs[r] = (t2 - t1) / 1e6;
                theirIdsMs[r] = (t3 - t2) / 1e6;
            }
        }
        double ourMedian = median(ourMs);
        double theirMedian = median(theirMs);
        double theirIdsMedian = median(theirIdsMs);
        out.printf(
                "%-13s %,8d %7d %10.1f %8.1f %10.1f %12.2f %10.2f %9.2f %13.2f%n",
                name,
                tokens,
                pieces.length,
                ourMedian,
                theirMedian,
                theirIdsMedian,
                mb / (ourMedian / 1e3),
                mb / (theirIdsMedian / 1e3),
                theirMedian / ourMedian,
                theirIdsMedian / ourMedian);
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
