package dev.kvslim.bench;

import dev.kvslim.core.format.llama2c.Llama2cCheckpoint;
import dev.kvslim.core.kv.KvCache;
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
     * @param repeats       measurements per figure
     * @param decodeTokens  decode steps per measurement
     * @param promptTokens  prompt length for prefill
     * @param quick         a small model instead of 125M
     */
    public record Options(Path stories, int repeats, int decodeTokens, int promptTokens, boolean quick) {
    }

    private final Options options;

    public EngineBenchmark(Options options) {
        this.options = options;
    }

    public void run(PrintStream out) {
        out.printf("kvslim bench: %d threads, %d-bit vectors, Java %s%n", Parallel.threads(),
                jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize(), Runtime.version());
        double bandwidth = Bandwidth.measureGBs(options.repeats());
        out.printf("memory read bandwidth: %.1f GB/s (median of %d)%n%n", bandwidth, options.repeats());
        out.printf("%-26s %12s %12s %14s %10s%n", "model", "prefill t/s", "decode t/s", "MB read/token", "roofline");

        if (options.stories() != null) {
            Model stories = Llama2cCheckpoint.load(options.stories());
            measure(out, "stories260K F32", stories, Math.min(options.promptTokens(), 256),
                    Math.min(stories.config().contextLength() - 1, 511), bandwidth);
        }
        LlamaConfig shape = options.quick() ? RandomLlama.configSmall() : RandomLlama.config125M();
        String name = options.quick() ? "random small" : "random 125M";
        for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.Q8_0}) {
            try (Arena arena = Arena.ofShared()) {
                Model m = RandomLlama.build(shape, type, arena, 42);
                measure(out, name + " " + type, m, options.promptTokens(), options.decodeTokens(), bandwidth);
            }
        }
        out.println();
        out.println("roofline = (bytes read per decode token / measured bandwidth) / measured time per token;");
        out.println("bytes read = every matrix but the embedding table, one embedding row, and the KV cache.");
    }

    private void measure(PrintStream out, String name, Model m, int promptLen, int decodeSteps, double bandwidthGBs) {
        LlamaConfig c = m.config();
        int[] prompt = new SplittableRandom(7).ints(promptLen, 0, c.vocabSize()).toArray();
        double[] prefill = new double[options.repeats()];
        double[] decode = new double[options.repeats()];
        int capacity = promptLen + decodeSteps + 1;
        // one untimed round to compile the hot paths
        for (int r = -1; r < options.repeats(); r++) {
            KvCache cache = m.newDenseCache(capacity);
            Model.State state = m.newState(64);
            long t0 = System.nanoTime();
            m.forward(state, prompt, 0, promptLen, 0, cache);
            long t1 = System.nanoTime();

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
            }
        }
        double decodeMedian = median(decode);
        double bytes = bytesPerDecodeToken(m, decodeSteps / 2);
        double rooflineTokS = bandwidthGBs * 1e9 / bytes;
        out.printf("%-26s %12.1f %12.1f %14.1f %9.0f%%%n", name, median(prefill), decodeMedian, bytes / 1e6,
                100 * decodeMedian / rooflineTokS);
    }

    /** Bytes one decode step reads: all matrices but the embedding, one embedding row, the KV cache at {@code pos}. */
    static double bytesPerDecodeToken(Model m, int position) {
        double bytes = 0;
        for (FloatTensor t : m.weights().matrices()) {
            if (t != m.weights().tokenEmbedding()) {
                bytes += t.segment().byteSize();
            }
        }
        FloatTensor emb = m.weights().tokenEmbedding();
        bytes += (double) emb.segment().byteSize() / emb.rows();
        if (m.weights().classifier() == emb) {
            bytes += emb.segment().byteSize();
        }
        bytes += (double) m.config().kvBytesPerToken(Float.BYTES) * position;
        return bytes;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
