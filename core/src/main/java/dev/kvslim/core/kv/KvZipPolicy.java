package dev.kvslim.core.kv;

import java.util.Arrays;

/**
 * KVzip (Kim et al., "KVzip: Query-Agnostic KV Cache Compression with Context Reconstruction", arXiv 2505.23416;
 * kvpress {@code KVzipPress}): a context's tokens are scored by how much the model needs them to repeat the context.
 * After the prompt's prefill, a front end replays it ({@link PagedKvCache#beginReplay}): the model reads an
 * instruction to repeat the context followed by the context itself, a chunk at a time, each chunk attending to the
 * whole cached prompt; a prompt token's score is the highest attention weight any replayed query of any query head of
 * its group puts on it. The replayed tokens are then dropped, and the lowest-scored tokens of the whole cache go
 * ({@link PagedKvCache#endReplay}), so heads and layers keep different shares of the budget (the paper's non-uniform
 * head budgets): the cache as a whole holds {@code layers x kvHeads x keep} tokens.
 * <p>KVzip compresses once, after prefill, and keeps what decoding adds. Here, as for the other policies, the budget
 * then holds token by token: the scores stay as the replay left them, decoded tokens are kept, and after each step
 * has passed the last layer the lowest-scored prompt tokens of the cache go (decoded ones, oldest first, only when no
 * prompt token is left besides each head's newest). Until the replay ends nothing is evicted: a front end that does
 * not replay cannot use this policy ({@link #replaysContext}).
 */
final class KvZipPolicy extends EvictionPolicy {

    /** What one cache's heads share: where the replay stands. */
    private static final class Shared {
        /** Positions below this are the replayed context, or -1 before the replay, or MAX_VALUE after it. */
        int context = -1;

        boolean replaying() {
            return context >= 0 && context < Integer.MAX_VALUE;
        }

        boolean done() {
            return context == Integer.MAX_VALUE;
        }
    }

    private final Shared shared;

    KvZipPolicy(KvBudget budget) {
        this(budget, null);
    }

    private KvZipPolicy(KvBudget budget, Shared shared) {
        super("kvzip", budget);
        this.shared = shared;
    }

    @Override
    EvictionPolicy forCache(KvShape shape) {
        return new KvZipPolicy(budget(), new Shared());
    }

    @Override
    boolean replaysContext() {
        return true;
    }

    @Override
    void beginReplay(int contextLength) {
        if (shared.context >= 0) {
            throw new IllegalStateException("kvzip replays a context once, before decoding");
        }
        shared.context = contextLength;
    }

    /** Only the replay's queries are read: the scores are the replay's. */
    @Override
    int observedQueries(int batch) {
        return shared.replaying() ? batch : 0;
    }

    /** A token is stored with score 0, or, once the replay has ended, as a decoded token that stays. */
    @Override
    void stored(HeadStore head, int slot, float[] k, int kOff) {
        head.setScore(slot, shared.done() ? Float.POSITIVE_INFINITY : 0f);
    }

    /**
     * Raises each token's score to the highest weight the replayed queries put on it (over the group's query heads:
     * their maximum, not their mean). A replayed chunk's own tokens get scores too, gone with them at its end.
     */
    @Override
    void observe(HeadStore head, Observation batch) {
        for (int i = 0; i < batch.count(); i++) {
            for (int g = 0; g < batch.group(); g++) {
                float[] w = batch.weightsOfHead(i, g);
                for (int s = 0; s < head.slots(); s++) {
                    if (head.position(s) >= 0 && w[s] > head.score(s)) {
                        head.setScore(s, w[s]);
                    }
                }
            }
        }
    }

    /** A head's own ranking, where one is asked for: its scores (the cache-wide choice is {@link #evictLowest}). */
    @Override
    void rank(HeadStore head, int keep, Observation batch, float[] rank) {
        for (int s = 0; s < head.slots(); s++) {
            rank[s] = head.score(s);
        }
    }

    @Override
    void afterAttention(PolicyHeads heads, int layer) {
        if (shared.replaying()) {
            heads.forEachHead(layer, (h, head, policy, batch) -> policy.observe(head, batch));
        } else if (shared.done() && layer == heads.layers() - 1) {
            evictLowest(heads);
        }
    }

    /** The replay is over and its tokens gone: evicts down to the budget by the context's scores. */
    @Override
    void endReplay(PolicyHeads heads) {
        if (!shared.replaying()) {
            throw new IllegalStateException("kvzip: no replay to end");
        }
        shared.context = Integer.MAX_VALUE;
        evictLowest(heads);
    }

    /**
     * Evicts the lowest-scored tokens of the whole cache (ties: the older first, then the lower layer and head, then
     * slot) until it holds {@code layers x kvHeads x keep}; each head's newest token stays.
     */
    private static void evictLowest(PolicyHeads heads) {
        int layers = heads.layers(), kvHeads = heads.kvHeads();
        long total = 0;
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < kvHeads; h++) {
                total += heads.head(l, h).live();
            }
        }
        long excess = total - (long) layers * kvHeads * heads.keep(heads.head(0, 0));
        if (excess <= 0) {
            return;
        }
        // the threshold: the excess-th lowest rank key of the evictable tokens; all below it go, and of those equal
        // to it as many as are still needed, in (layer, head, slot) order
        long[] keys = new long[(int) total];
        int n = 0;
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < kvHeads; h++) {
                HeadStore head = heads.head(l, h);
                for (int s = 0; s < head.slots(); s++) {
                    if (evictable(head, s)) {
                        keys[n++] = HeadStore.rankKey(head.score(s), head.position(s));
                    }
                }
            }
        }
        int count = (int) Math.min(excess, n);
        if (count == 0) {
            return;
        }
        Arrays.sort(keys, 0, n);
        long threshold = keys[count - 1];
        int below = 0;
        while (below < count && keys[below] < threshold) {
            below++;
        }
        int tied = count - below; // of the tokens at the threshold, how many more go
        boolean[][] victims = new boolean[layers * kvHeads][];
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < kvHeads; h++) {
                HeadStore head = heads.head(l, h);
                for (int s = 0; s < head.slots(); s++) {
                    if (evictable(head, s)) {
                        long key = HeadStore.rankKey(head.score(s), head.position(s));
                        if (key < threshold || key == threshold && tied-- > 0) {
                            if (victims[l * kvHeads + h] == null) {
                                victims[l * kvHeads + h] = new boolean[head.slots()];
                            }
                            victims[l * kvHeads + h][s] = true;
                        }
                    }
                }
            }
        }
        for (int l = 0; l < layers; l++) {
            int base = l * kvHeads;
            heads.forEachHead(l, (h, head, policy, batch) -> {
                boolean[] mine = victims[base + h];
                for (int s = 0; mine != null && s < mine.length; s++) {
                    if (mine[s]) {
                        head.evict(s);
                    }
                }
            });
        }
    }

    private static boolean evictable(HeadStore head, int slot) {
        return head.position(slot) >= 0 && slot != head.lastSlot();
    }
}
