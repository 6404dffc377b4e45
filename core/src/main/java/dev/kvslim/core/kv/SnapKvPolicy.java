package dev.kvslim.core.kv;

import java.util.Arrays;

/**
 * SnapKV (Li et al., "SnapKV: LLM Knows What You are Looking for Before Generation", 2024; kvpress
 * {@code SnapKVPress}): the last {@code window} queries (the observation window, default 32, or all of a shorter
 * prompt) vote. An older key's score is the attention they put on it, averaged over them and the group's query
 * heads, then smoothed along the sequence of older keys by a max-pool of kernel 7 (kvpress pools by average or max;
 * here max). The window's own tokens stay, and the highest-scoring older ones fill the rest of the budget (a budget
 * below the window keeps the newest of it).
 * <p>kvpress compresses once, at the end of prefill. Here the rule runs after every batch, prefill or decode, that
 * leaves a head over its budget, so SnapKV holds the same budget token by token as the other policies and the
 * comparisons at a ratio are like for like (recomputing the window's attention every decoded token costs about the
 * window's size in extra attention work per token). The window's queries are kept in a ring of the last
 * {@code window}, so a window may span batches; each query's weights are recomputed over the keys kept now that it
 * can see.
 */
final class SnapKvPolicy extends EvictionPolicy {

    /** Kernel of the max-pool, as in kvpress. */
    static final int KERNEL = 7;

    private final int window;
    private float[] ring;
    private final int[] ringPositions;
    private int ringSize;
    private int ringNext;

    SnapKvPolicy(KvBudget budget, int window) {
        super("snapkv", budget);
        this.window = window;
        this.ringPositions = new int[window];
    }

    @Override
    EvictionPolicy forHead(int layer, int kvHead) {
        return new SnapKvPolicy(budget(), window);
    }

    @Override
    int observedQueries(int batch) {
        return Math.min(window, batch);
    }

    @Override
    void observe(HeadStore head, Observation batch) {
        int width = batch.group() * head.headSize();
        if (ring == null) {
            ring = new float[window * width];
        }
        for (int i = 0; i < batch.count(); i++) {
            System.arraycopy(batch.queries(), batch.queryOffset(i), ring, ringNext * width, width);
            ringPositions[ringNext] = batch.position(i);
            ringNext = (ringNext + 1) % window;
            ringSize = Math.min(ringSize + 1, window);
        }
    }

    @Override
    void rank(HeadStore head, int keep, Observation batch, float[] rank) {
        int width = batch.group() * head.headSize();
        int slots = head.slots();
        float[] sums = batch.sums();
        Arrays.fill(sums, 0, slots, 0f);
        for (int r = 0; r < ringSize; r++) {
            float[] w = batch.weights(ring, r * width, ringPositions[r]);
            for (int s = 0; s < slots; s++) {
                sums[s] += w[s] / ringSize;
            }
        }
        // the older keys in position order, then each ranked by the max of its score and its 3 neighbours' each side
        int newest = head.position(head.lastSlot());
        int kept = Math.min(window, keep);
        long[] older = new long[head.live()];
        int n = 0;
        for (int s = 0; s < slots; s++) {
            int p = head.position(s);
            if (p > newest - kept) {
                rank[s] = Float.POSITIVE_INFINITY;
            } else if (p >= 0) {
                older[n++] = (long) p << 32 | s;
            }
        }
        Arrays.sort(older, 0, n);
        int half = KERNEL / 2;
        for (int i = 0; i < n; i++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int j = Math.max(0, i - half); j <= Math.min(n - 1, i + half); j++) {
                max = Math.max(max, sums[(int) older[j]]);
            }
            rank[(int) older[i]] = max;
        }
    }
}
