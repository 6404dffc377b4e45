package dev.kvslim.bench;

import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvShape;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.tensor.GgmlType;
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
        return LlamaConfig.builder()
                .dim(512)
                .hiddenDim(1024)
                .layers(8)
                .heads(8)
                .kvHeads(2)
                .headSize(64)
                .vocabSize(4096)
                .contextLength(65536)
                .build();
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
        out.printf(
                "kvslim bench --kv: random model dim 512, 8 layers, 8/2 heads of 64; DMS window 16; %d decode steps,"
                        + " medians of %d; KV types %s%n",
                decodeSteps, repeats, Arrays.toString(types));
        out.printf(
                "%8s %6s %5s %9s %11s %13s %14s %9s%n",
                "context", "target", "type", "achieved", "decode t/s", "attention us/t", "KV live bytes", "vs CR 1");
        try (Arena arena = Arena.ofShared()) {
            Model base = RandomLlama.build(shape(), GgmlType.F32, arena, 11);
            for (int context : contexts) {
                double[] attentionAtOne = new double[types.length];
                for (int ratio : ratios) {
                    Model model = RandomDms.retrofit(base, ratio, arena);
                    for (int t = 0; t < types.length; t++) {
                        Row row = measure(model, context, ratio, types[t]);
                        if (ratio == 1) {
                            attentionAtOne[t] = row.attention;
                        }
                        out.printf(
                                "%8d %6d %5s %9.2f %11.1f %13.1f %,14d %8.2fx%n",
                                context,
                                ratio,
                                types[t],
                                row.achieved,
                                row.tokensPerSecond,
                                row.attention,
                                row.live,
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
    private record Row(double tokensPerSecond, double attention, double achieved, long live) {}

    /** Context of the uncounted warm-up run. */
    private static final int WARM_UP_CONTEXT = 2048;

    private Row measure(Model model, int context, int ratio, KvType type) {
        double[] tps = new double[repeats], attention = new double[repeats];
        double achieved = 0;
        long live = 0;
        for (int r = -1; r < repeats; r++) {
            // run -1 warms the JIT up on a short context (a second 32K prefill would cost minutes) and is not counted
            int tokens = r < 0 ? Math.min(context, WARM_UP_CONTEXT) : context;
            KvShape shape = model.config().kvShape();
            KvCacheSpec.Paged spec = ratio > 1 ? KvCacheSpec.dms(shape) : KvCacheSpec.keepAll();
            TimedCache cache = new TimedCache(spec.newCache(
                    shape,
                    new BlockPool(64, PagedKvCache.blockSizeFor(context), 8L << 30, type),
                    tokens + decodeSteps + 1));
            int[] prompt = new SplittableRandom(r + 1).ints(tokens, 0, 4096).toArray();
            model.forward(model.newState(256), prompt, 0, tokens, 0, cache);
            PagedKvCache paged = cache.paged;
            Model.State one = model.newState(1);
            int[] token = {prompt[tokens - 1]};
            cache.nanos.set(0);
            long t0 = System.nanoTime();
            for (int s = 0; s < decodeSteps; s++) {
                token[0] = Sampler.argmax(model.forward(one, token, 0, 1, tokens + s, cache));
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
        public void store(int layer, int position, int count, float[] k, float[] v, float[] decisions, int row) {
            paged.store(layer, position, count, k, v, decisions, row);
        }

        @Override
        public void attend(
                int layer,
                int position,
                int kvHead,
                float[] q,
                int qOff,
                int group,
                float[] out,
                int outOff,
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
