package dev.kvslim.core.kv;

import dev.kvslim.core.model.LlamaConfig;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Drives a {@link PagedKvCache} as {@code Model.forward} does (reserve, store, attention of every query of the batch,
 * afterAttention, layer by layer; batches starting at an even position attend in tiles of queries, the others one
 * query at a time) with hand-made post-RoPE queries, keys and values: {@code q[pos * qDim ..]},
 * {@code k[pos * kvDim ..]}, {@code v[pos * kvDim ..]}, the same for every layer. Head size 8.
 */
final class PolicyHarness {

    static final int HS = 8;

    private PolicyHarness() {}

    static LlamaConfig config(int layers, int kvHeads, int group) {
        return LlamaConfig.builder()
                .dim(HS * kvHeads * group)
                .hiddenDim(16)
                .layers(layers)
                .heads(kvHeads * group)
                .kvHeads(kvHeads)
                .headSize(HS)
                .vocabSize(16)
                .contextLength(1 << 14)
                .build();
    }

    /** Runs tokens {@code pos0 .. pos0+n-1} through every layer; returns layer 0's attention outputs (n x qDim). */
    static float[] step(PagedKvCache cache, LlamaConfig c, int pos0, int n, float[] q, float[] k, float[] v) {
        int kvDim = c.kvDim(), qDim = c.qDim();
        cache.reserve(n);
        float[] batchQ = Arrays.copyOfRange(q, pos0 * qDim, (pos0 + n) * qDim);
        float[] out = new float[n * qDim];
        float[] scratch = new float[cache.scratchSize()];
        for (int layer = 0; layer < c.layers(); layer++) {
            cache.store(
                    layer,
                    pos0,
                    n,
                    Arrays.copyOfRange(k, pos0 * kvDim, (pos0 + n) * kvDim),
                    Arrays.copyOfRange(v, pos0 * kvDim, (pos0 + n) * kvDim),
                    null);
            float[] o = layer == 0 ? out : new float[n * qDim];
            if (pos0 % 2 == 0) {
                // as the model does: tiles of a batch's queries, the keys read once per tile
                for (int t = 0; t < n; t += KvCache.TILE) {
                    int count = Math.min(KvCache.TILE, n - t);
                    for (int h = 0; h < c.kvHeads(); h++) {
                        int at = t * qDim + h * c.groupSize() * c.headSize();
                        cache.attendTile(
                                layer, pos0 + t, count, h, batchQ, at, qDim, c.groupSize(), o, at, qDim, scratch);
                    }
                }
            } else {
                for (int t = 0; t < n; t++) {
                    for (int h = 0; h < c.kvHeads(); h++) {
                        int at = t * qDim + h * c.groupSize() * c.headSize();
                        cache.attend(layer, pos0 + t, h, batchQ, at, c.groupSize(), o, at, scratch);
                    }
                }
            }
            cache.afterAttention(layer, pos0 + n - 1);
        }
        return out;
    }

    /** Runs all tokens in batches of the given sizes. */
    static void run(PagedKvCache cache, LlamaConfig c, float[] q, float[] k, float[] v, int... batches) {
        int pos = 0;
        for (int n : batches) {
            step(cache, c, pos, n, q, k, v);
            pos += n;
        }
    }

    /** Runs {@code tokens} tokens one at a time. */
    static void decode(PagedKvCache cache, LlamaConfig c, float[] q, float[] k, float[] v, int tokens) {
        run(cache, c, q, k, v, IntStream.generate(() -> 1).limit(tokens).toArray());
    }

    static HeadStore head(PagedKvCache cache, int layer, int kvHead) {
        try {
            var f = PagedKvCache.class.getDeclaredField("heads");
            f.setAccessible(true);
            return ((HeadStore[][]) f.get(cache))[layer][kvHead];
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    /** The positions (layer, KV head) keeps, ascending. */
    static int[] kept(PagedKvCache cache, int layer, int kvHead) {
        HeadStore head = head(cache, layer, kvHead);
        return IntStream.range(0, head.slots())
                .map(head::position)
                .filter(p -> p >= 0)
                .sorted()
                .toArray();
    }

    /** Channel {@code c} of the key and of the value stored in {@code slot}, read back from its block. */
    static float[] stored(HeadStore head, int slot, int c) {
        return new float[] {head.key(slot, c), head.value(slot, c)};
    }

    /** {@code n} standard normal floats. */
    static float[] gaussian(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }
}
