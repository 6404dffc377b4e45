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
 * <p>KVzip compresses once, after prefill; here, as for the other policies, the budget then holds token by token: a
 * decoded token's score is likewise the highest weight a later query puts on it, every query also raises the scores
 * of the tokens it reads, and after each step has passed the last layer the lowest-scored tokens of the cache go
 * (each head's newest stays). Until the replay ends nothing is evicted: a front end that does not replay cannot
 * use this policy ({@link #replaysContext}).
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

    @Override
    int observedQueries(int batch) {
        return shared.context < 0 ? 0 : batch;
    }

    @Override
    void stored(HeadStore head, int slot, float[] k, int kOff) {
        head.setScore(slot, 0f);
    }

    /**
     * Raises each token's score to the highest weight the batch's queries put on it (over the group's query heads:
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
        if (shared.context < 0) {
            return; // the prompt's prefill: nothing is scored or evicted before the replay
        }
        heads.forEachHead(layer, (h, head, policy, batch) -> policy.observe(head, batch));
        if (shared.done() && layer == heads.layers() - 1) {
            evictLowest(heads);
        }
    }

    /** Drops the replayed tokens' scores' source and evicts down to the budget by the context's scores. */
    @Override
    void endReplay(PolicyHeads heads) {
        if (!shared.replaying()) {
            throw new IllegalStateException("kvzip: no replay to end");
        }
        shared.context = Integer.MAX_VALUE;
        evictLowest(heads);
    }

    /**
     * Evicts the lowest-scored tokens of the whole cache (ties: the older first, then the lower layer and head) until
     * it holds {@code layers x kvHeads x keep}; each head's newest token stays.
     */
    private static void evictLowest(PolicyHeads heads) {
        int layers = heads.layers(), kvHeads = heads.kvHeads();
        long total = 0;
        int keep = heads.keep(heads.head(0, 0));
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < kvHeads; h++) {
                total += heads.head(l, h).live();
            }
        }
        long excess = total - (long) layers * kvHeads * keep;
        if (excess <= 0) {
            return;
        }
        // every evictable token as (rank key, head index, slot), sorted by key then head
        int n = 0;
        long[] keys = new long[(int) total];
        int[] where = new int[(int) total];
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < kvHeads; h++) {
                HeadStore head = heads.head(l, h);
                for (int s = 0; s < head.slots(); s++) {
                    if (head.position(s) >= 0 && s != head.lastSlot()) {
                        keys[n] = HeadStore.rankKey(head.score(s), head.position(s));
                        where[n++] = (l * kvHeads + h) << 20 | s;
                    }
                }
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        long[] k = keys;
        int[] w = where;
        Arrays.sort(order, (a, b) -> k[a] != k[b] ? Long.compare(k[a], k[b]) : Integer.compare(w[a], w[b]));
        boolean[][] evicted = new boolean[layers * kvHeads][];
        for (int i = 0; i < Math.min(excess, n); i++) {
            int index = where[order[i]] >>> 20, slot = where[order[i]] & 0xFFFFF;
            if (evicted[index] == null) {
                evicted[index] =
                        new boolean[heads.head(index / kvHeads, index % kvHeads).slots()];
            }
            evicted[index][slot] = true;
        }
        for (int l = 0; l < layers; l++) {
            int base = l * kvHeads;
            heads.forEachHead(l, (h, head, policy, batch) -> {
                boolean[] mine = evicted[base + h];
                if (mine != null) {
                    for (int s = 0; s < mine.length; s++) {
                        if (mine[s]) {
                            head.evict(s);
                        }
                    }
                }
            });
        }
    }
}
