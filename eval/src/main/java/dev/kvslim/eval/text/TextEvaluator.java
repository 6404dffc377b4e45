package dev.kvslim.eval.text;

import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.eval.result.EvalResult;
import java.util.ArrayList;
import java.util.List;

/**
 * How far a compressed cache moves a text model's predictions: the text is teacher-forced one token at a time through
 * a cache that keeps every token as computed (F32) and through each compressed cache (in the settings' element type,
 * so a Q8_0 cache that keeps every token measures what quantising keys and values alone costs), and at every position the compressed next-token
 * distribution q is compared with the full one p. Reports mean KL(p || q) per predicted token (nats) and the
 * perplexity of the text under both. One token at a time, because every position's prediction is measured and an
 * eviction policy evicts after each step, as in decoding.
 *
 * <p>All caches of a window advance in the same batched {@link Model#forward(Model.State, List)}: one chunk per
 * cache, the same token at the same position, so the reference and every setting cost one pass together.
 */
public final class TextEvaluator {

    /**
     * @param windows  most windows of the text to evaluate
     * @param seed     seeds the {@code random} policy
     * @param kvType   element type of the cached keys and values
     */
    public record Settings(int windows, long seed, KvType kvType) {
        public Settings {
            if (windows < 1) {
                throw new IllegalArgumentException("--samples (text windows) must be at least 1, got " + windows);
            }
        }
    }

    private final Model model;
    private final Settings settings;

    public TextEvaluator(Model model, Settings settings) {
        this.model = model;
        this.settings = settings;
    }

    /**
     * Evaluates {@code specs} on {@code windows} (token sequences of at least 2 tokens, at most
     * {@code settings.windows()} of them used) and returns one result per setting, labelled {@code text:NAME}.
     */
    public List<EvalResult> run(String modelName, String textName, List<int[]> windows, List<KvCacheSpec.Paged> specs) {
        if (windows.isEmpty()) {
            throw new IllegalArgumentException("the text " + textName + " has no window of 2 or more tokens");
        }
        long wallStart = System.nanoTime();
        LlamaConfig c = model.config();
        List<int[]> used = windows.subList(0, Math.min(windows.size(), settings.windows()));
        int capacity = used.stream().mapToInt(w -> w.length).max().orElseThrow();
        for (KvCacheSpec.Paged spec : specs) {
            spec.requireNoReplay("eval --text");
        }
        int n = specs.size();
        int blockSize = PagedKvCache.blockSizeFor(c.contextLength());
        // a block per head beyond the capacity: DMS may hold a batch's tokens before it evicts
        BlockPool pool = new BlockPool(
                c.headSize(),
                blockSize,
                n * c.kvShape().blockBytesFor(capacity + blockSize, blockSize, settings.kvType()),
                settings.kvType());
        // the reference keeps every token as computed, in F32, whatever the type under test
        BlockPool reference = new BlockPool(
                c.headSize(), blockSize, c.kvShape().blockBytesFor(capacity + blockSize, blockSize, KvType.F32));
        Model.State state = model.newState(n + 1);
        int vocab = c.vocabSize();
        double[] kl = new double[n], nll = new double[n], ratio = new double[n], peakMean = new double[n];
        long[] peak = new long[n];
        double nllDense = 0;
        long predicted = 0, fed = 0, nanos = 0;
        double[] logP = new double[vocab], logQ = new double[vocab];
        for (int[] window : used) {
            PagedKvCache dense = KvCacheSpec.keepAll().newCache(c.kvShape(), reference, capacity);
            PagedKvCache[] caches = new PagedKvCache[n];
            long[] windowPeak = new long[n];
            for (int s = 0; s < n; s++) {
                caches[s] = specs.get(s).newCache(c.kvShape(), pool, capacity);
            }
            List<Model.Chunk> batch = new ArrayList<>(n + 1);
            for (int t = 0; t + 1 < window.length; t++) {
                batch.clear();
                batch.add(new Model.Chunk(dense, window, t, 1, t));
                for (PagedKvCache cache : caches) {
                    batch.add(new Model.Chunk(cache, window, t, 1, t));
                }
                long t0 = System.nanoTime();
                float[][] rows = model.forward(state, batch);
                nanos += System.nanoTime() - t0;
                fed++;
                int target = window[t + 1];
                logSoftmax(rows[0], logP);
                nllDense -= logP[target];
                predicted++;
                for (int s = 0; s < n; s++) {
                    logSoftmax(rows[s + 1], logQ);
                    nll[s] -= logQ[target];
                    kl[s] += kl(logP, logQ);
                    windowPeak[s] = Math.max(windowPeak[s], caches[s].liveBytes());
                }
            }
            for (int s = 0; s < n; s++) {
                ratio[s] += caches[s].compressionRatio();
                peak[s] = Math.max(peak[s], windowPeak[s]);
                peakMean[s] += windowPeak[s];
                caches[s].release();
            }
            dense.release();
        }
        double seconds = (System.nanoTime() - wallStart) / 1e9;
        double tokensPerSecond = nanos == 0 ? 0 : fed * 1e9 / nanos;
        List<EvalResult> out = new ArrayList<>(n);
        for (int s = 0; s < n; s++) {
            KvCacheSpec.Paged spec = specs.get(s);
            out.add(new EvalResult(
                    modelName,
                    "text:" + textName,
                    spec.name(),
                    spec.targetRatio(),
                    ratio[s] / used.size(),
                    null,
                    0,
                    used.size(),
                    peak[s],
                    peakMean[s] / used.size(),
                    tokensPerSecond,
                    1,
                    0,
                    capacity,
                    settings.seed(),
                    seconds,
                    kl[s] / predicted,
                    Math.exp(nllDense / predicted),
                    Math.exp(nll[s] / predicted),
                    null));
        }
        return out;
    }

    /**
     * {@code tokens} cut into consecutive windows of {@code length} (the shorter tail dropped), or the whole of it as
     * one window when it is shorter than {@code length}.
     */
    public static List<int[]> windows(int[] tokens, int length) {
        if (length < 2) {
            throw new IllegalArgumentException("a text window needs at least 2 tokens, got " + length);
        }
        List<int[]> out = new ArrayList<>();
        for (int start = 0; start + length <= tokens.length; start += length) {
            out.add(java.util.Arrays.copyOfRange(tokens, start, start + length));
        }
        if (out.isEmpty() && tokens.length >= 2) {
            out.add(tokens.clone());
        }
        return out;
    }

    /** Natural-log softmax of {@code logits} into {@code out}. */
    static void logSoftmax(float[] logits, double[] out) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        double log = max + Math.log(sum);
        for (int i = 0; i < out.length; i++) {
            out[i] = logits[i] - log;
        }
    }

    /** KL(p || q) of two log-distributions, in nats. */
    static double kl(double[] logP, double[] logQ) {
        double sum = 0;
        for (int i = 0; i < logP.length; i++) {
            double p = Math.exp(logP[i]);
            if (p > 0) {
                sum += p * (logP[i] - logQ[i]);
            }
        }
        return sum;
    }
}
