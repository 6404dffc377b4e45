package dev.kvslim.bench;

import dev.kvslim.core.format.llama2c.Llama2cCheckpoint;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.Parallel;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Prefill and decode speed of the engine, measured side by side in one run, each reported as the median of
 * several measurements; decode also as a fraction of the memory-bandwidth roofline (bytes a decode step must
 * read divided by the read bandwidth measured in the same run).
 */
public final class EngineBenchmark {

    /**
     * @param stories       stories260K.bin to measure too, or null
     * @param repeats       measurements per figure (the median is reported)
     * @param decodeTokens  decode steps per measurement
     * @param promptTokens  prompt length for prefill
     * @param quick         a small model instead of 125M
     */
    public record Options(Path stories, int repeats, int decodeTokens, int promptTokens, boolean quick) {}

    private final Options options;

    public EngineBenchmark(Options options) {
        this.options = options;
    }

    public void run(PrintStream out) {
        out.printf(
                "kvslim bench: %d threads, %d-bit vectors, Java %s; medians of %d runs%n",
                Parallel.threads(),
                jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize(),
                Runtime.version(),
                options.repeats());
        out.printf(
                "%-22s %11s %10s %9s %9s %8s%n",
                "model", "prefill t/s", "decode t/s", "MB/token", "read GB/s", "roofline");
        if (options.stories() != null) {
            Model stories = Llama2cCheckpoint.load(options.stories());
            measure(
                    out,
                    "stories260K F32",
                    stories,
                    Math.min(options.promptTokens(), 256),
                    Math.min(stories.config().contextLength() - 1, 511));
        }
        LlamaConfig shape = options.quick() ? RandomLlama.configSmall() : RandomLlama.config125M();
        String name = options.quick() ? "random small" : "random 125M";
        for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.Q8_0}) {
            try (Arena arena = Arena.ofShared()) {
                Model m = RandomLlama.build(shape, type, arena, 42);
                measure(out, name + " " + type, m, options.promptTokens(), options.decodeTokens());
            }
        }
        out.println();
        out.println("prefill: one " + options.promptTokens()
                + "-token prompt (256 for stories260K); decode: greedy steps" + " from an empty cache.");
        out.println("read GB/s: all threads streaming 256 MiB, measured right before each decode run;");
        out.println("roofline: decode time per token against (bytes read per token / that bandwidth), per run;");
        out.println("bytes read per token: every matrix but the embedding table, one embedding row, the KV cache.");
    }

    private void measure(PrintStream out, String name, Model m, int promptLen, int decodeSteps) {
        LlamaConfig c = m.config();
        int[] prompt = new SplittableRandom(7).ints(promptLen, 0, c.vocabSize()).toArray();
        int n = options.repeats();
        double[] prefill = new double[n], decode = new double[n], bandwidth = new double[n], roofline = new double[n];
        double bytes = bytesPerDecodeToken(m, decodeSteps / 2);
        int capacity = promptLen + decodeSteps + 1;
        for (int r = -1; r < n; r++) { // round -1 compiles the hot paths and is not counted
            KvCache cache = m.newDenseCache(capacity);
            Model.State state = m.newState(64);
            long t0 = System.nanoTime();
            m.forward(state, prompt, 0, promptLen, 0, cache);
            long t1 = System.nanoTime();

            double gbs = Bandwidth.measureGBs();
            KvCache dcache = m.newDenseCache(capacity);
            Model.State one = m.newState(1);
            int[] token = {prompt[0]};
            long t2 = System.nanoTime();
            for (int pos = 0; pos < decodeSteps; pos++) {
                float[] logits = m.forward(one, token, 0, 1, pos, dcache);
                token[0] = Sampler.argmax(logits);
            }
            long t3 = System.nanoTime();
            if (r >= 0) {
                prefill[r] = promptLen * 1e9 / (t1 - t0);
                decode[r] = decodeSteps * 1e9 / (t3 - t2);
                bandwidth[r] = gbs;
                roofline[r] = decode[r] / (gbs * 1e9 / bytes);
            }
        }
        out.printf(
                "%-22s %11.1f %10.1f %9.1f %9.1f %7.0f%%%n",
                name, median(prefill), median(decode), bytes / 1e6, median(bandwidth), 100 * median(roofline));
    }

    /** Bytes one decode step reads: all matrices but the embedding, one embedding row, the KV cache at {@code pos}. */
    static double bytesPerDecodeToken(Model m, int position) {
        double bytes = 0;
        for (FloatTensor t : m.weights().matrices()) {
            if (t != m.weights().tokenEmbedding()) {
                bytes += t.byteSize();
            }
        }
        FloatTensor emb = m.weights().tokenEmbedding();
        bytes += (double) emb.byteSize() / emb.rows();
        if (m.weights().classifier() == emb) {
            bytes += emb.byteSize();
        }
        bytes += (double) m.config().kvBytesPerToken(KvType.F32) * position;
        return bytes;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
