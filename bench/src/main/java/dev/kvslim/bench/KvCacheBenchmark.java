package dev.kvslim.bench;

import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.LlamaWeights;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.model.RopeStyle;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.Tensors;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Decode speed, attention time and KV memory of the paged cache at growing contexts and compression ratios,
 * side by side in one run. A random-weight model gets a random DMS adapter whose offset sets how many tokens it
 * marks (about 1 - 1/R of them for a target ratio R, with a window of 16), so the cache really evicts; the
 * achieved ratio is measured and reported next to the target. Each setting runs once per KV element type, rows
 * side by side, so F32 and F16/BF16 storage compare in one run.
 */
public final class KvCacheBenchmark {

    /** A shape where attention matters: dim 512, 8 layers, 8 query / 2 KV heads of 64 channels. */
    static LlamaConfig shape() {
        return new LlamaConfig("llama", 512, 1024, 8, 8, 2, 64, 4096, 65536, 1e-5f, 10000f, RopeStyle.HALF, false);
    }

    private final int[] contexts;
    private final int[] ratios;
    private final int decodeSteps;
    private final int repeats;
    private final KvType[] types;

    public KvCacheBenchmark(int[] contexts, int[] ratios, int decodeSteps, int repeats, KvType... types) {
        if (types.length == 0) {
            throw new IllegalArgumentException("the KV benchmark needs at least one element type");
        }
        this.contexts = contexts.clone();
        this.ratios = ratios.clone();
        this.decodeSteps = decodeSteps;
        this.repeats = repeats;
        this.types = types.clone();
    }

    public void run(PrintStream out) {
        out.printf("kvslim bench --kv: random model dim 512, 8 layers, 8/2 heads of 64; DMS window 16; %d decode steps,"
                + " medians of %d; KV types %s%n", decodeSteps, repeats, Arrays.toString(types));
        out.printf("%8s %6s %5s %9s %11s %13s %14s %9s%n", "context", "target", "type", "achieved", "decode t/s",
                "attention us/t", "KV live bytes", "vs CR 1");
        try (Arena arena = Arena.ofShared()) {
            Model base = RandomLlama.build(shape(), GgmlType.F32, arena, 11);
            for (int context : contexts) {
                double[] attentionAtOne = new double[types.length];
                for (int ratio : ratios) {
                    Model model = withDms(base, ratio, arena);
                    for (int t = 0; t < types.length; t++) {
                        Row row = measure(model, context, ratio, types[t]);
                        if (ratio == 1) {
                            attentionAtOne[t] = row.attention;
                        }
                        out.printf("%8d %6d %5s %9.2f %11.1f %13.1f %,14d %8.2fx%n", context, ratio, types[t],
                                row.achieved, row.tokensPerSecond, row.attention, row.live,
                                attentionAtOne[t] > 0 ? attentionAtOne[t] / row.attention : 1);
                    }
                }
            }
        }
        out.println();
        out.println("attention us/t: CPU microseconds in cache.attend per decoded token (all layers and heads, summed");
        out.println("over threads); vs CR 1: attention time at ratio 1 divided by attention time at this ratio.");
    }

    /** Medians over the repeats of one (context, ratio, type) setting. */
    private record Row(double tokensPerSecond, double attention, double achieved, long live) {
    }

    private Row measure(Model model, int context, int ratio, KvType type) {
        double[] tps = new double[repeats], attention = new double[repeats];
        double achieved = 0;
        long live = 0;
        for (int r = -1; r < repeats; r++) { // run -1 warms the JIT up and is not counted
            TimedCache cache = new TimedCache(new PagedKvCache(model.config(), new BlockPool(64,
                    PagedKvCache.defaultBlockSize(), 8L << 30, type), context + decodeSteps + 1, ratio > 1));
            int[] prompt = new SplittableRandom(r + 1).ints(context, 0, 4096).toArray();
            model.forward(model.newState(256), prompt, 0, context, 0, cache);
            PagedKvCache paged = cache.paged;
            Model.State one = model.newState(1);
            int[] token = {prompt[context - 1]};
            cache.nanos.set(0);
            long t0 = System.nanoTime();
            for (int s = 0; s < decodeSteps; s++) {
                token[0] = Sampler.argmax(model.forward(one, token, 0, 1, context + s, cache));
            }
            long t1 = System.nanoTime();
            if (r >= 0) {
                tps[r] = decodeSteps * 1e9 / (t1 - t0);
                attention[r] = cache.nanos.get() / 1e3 / decodeSteps;
                achieved = paged.compressionRatio();
                live = paged.liveBytes();
            }
            paged.release();
        }
        return new Row(EngineBenchmark.median(tps), EngineBenchmark.median(attention), achieved, live);
    }

    /** {@code base} with a random DMS adapter marking about 1 - 1/ratio of the tokens (none for ratio 1). */
    private static Model withDms(Model base, int ratio, Arena arena) {
        LlamaConfig c = base.config();
        double p = 1 - 1.0 / ratio;
        // z = 100 * N(0, 1) - offset marks a token with probability P(N(0,1) > offset / 100)
        float offset = ratio == 1 ? 1000f : (float) (100 * inverseNormal(1 - p));
        LlamaConfig dc = c.withDms(new DmsConfig(16, 100f, offset, DmsConfig.Variant.ADAPTER, false));
        SplittableRandom rnd = new SplittableRandom(3);
        float[][] norm = new float[c.layers()][c.dim()];
        FloatTensor[] proj = new FloatTensor[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            Arrays.fill(norm[l], 1f);
            float[] w = new float[c.kvHeads() * c.dim()];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (rnd.nextGaussian() / Math.sqrt(c.dim()));
            }
            proj[l] = Tensors.f32(arena, w, c.kvHeads(), c.dim());
        }
        LlamaWeights weights = base.weights().withDmsAdapter(norm, proj);
        return new Model(dc, weights);
    }

    /** The standard normal quantile (Acklam's rational approximation, good to 1e-9). */
    static double inverseNormal(double p) {
        double[] a = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
            -3.066479806614716e+01, 2.506628277459239e+00};
        double[] b = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
            -1.328068155288572e+01};
        double[] c = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
            4.374664141464968e+00, 2.938163982698783e+00};
        double[] d = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00};
        double q;
        if (p < 0.02425) {
            q = Math.sqrt(-2 * Math.log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                    / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        if (p > 1 - 0.02425) {
            return -inverseNormal(1 - p);
        }
        q = p - 0.5;
        double r = q * q;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }

    /** Delegates to a paged cache and adds up the time spent in attention. */
    private static final class TimedCache implements KvCache {
        final PagedKvCache paged;
        final AtomicLong nanos = new AtomicLong();

        TimedCache(PagedKvCache paged) {
            this.paged = paged;
        }

        @Override
        public int capacity() {
            return paged.capacity();
        }

        @Override
        public void reserve(int count) {
            paged.reserve(count);
        }

        @Override
        public void store(int layer, int position, int count, float[] k, float[] v, float[] decisions) {
            paged.store(layer, position, count, k, v, decisions);
        }

        @Override
        public void attend(int layer, int position, int kvHead, float[] q, int qOff, int group, float[] out, int outOff,
                           float[] scratch) {
            long t0 = System.nanoTime();
            paged.attend(layer, position, kvHead, q, qOff, group, out, outOff, scratch);
            nanos.addAndGet(System.nanoTime() - t0);
        }

        @Override
        public void afterAttention(int layer, int lastPosition) {
            paged.afterAttention(layer, lastPosition);
        }

        @Override
        public int scratchSize() {
            return paged.scratchSize();
        }

        @Override
        public void truncate(int length) {
            paged.truncate(length);
        }

        @Override
        public long bytesUsed() {
            return paged.bytesUsed();
        }
    }
}
