package dev.kvslim.core.kv;

import java.util.Arrays;

/**
 * AdaKV (Feng et al., "Ada-KV: Optimizing KV Cache Eviction by Adaptive Budget Allocation for Efficient LLM
 * Inference", arXiv 2407.11550; kvpress {@code AdaKVPress}): the budget belongs to a layer, not to a head. Every KV
 * head of the layer ranks its tokens by a scorer (SnapKV unless the options name another); each head's best
 * {@code floor(alpha * keep)} tokens are safe (alpha 0.2, kvpress's {@code alpha_safeguard}), and of the rest the
 * layer's lowest-ranked go, whichever head holds them, until the layer holds {@code kvHeads * keep} tokens. Heads
 * whose attention is spread keep more than heads whose attention is sharp: the closest training-free analogue of the
 * per-head ratios DMS learns. Scores must compare across heads, as attention weights do (SnapKV, TOVA, H2O,
 * Expected Attention). Among equal ranks the older token goes first, and each head's newest token stays.
 */
final class AdaKvPolicy extends EvictionPolicy {

    /** kvpress's {@code alpha_safeguard}: the share of a head's even budget that its best tokens keep regardless. */
    static final double ALPHA = 0.2;

    private final EvictionPolicy scorer;
    private float[][] ranks = new float[0][];

    AdaKvPolicy(KvBudget budget, EvictionPolicy scorer) {
        super(scorer instanceof SnapKvPolicy ? "adakv" : "adakv:" + scorer.name(), budget);
        if (scorer instanceof AdaKvPolicy || scorer instanceof DuoAttentionPolicy) {
            throw new IllegalArgumentException("AdaKV needs a scorer that ranks each head's tokens, not " + scorer);
        }
        this.scorer = scorer;
    }

    /** The policy ranking each head's tokens. */
    EvictionPolicy scorer() {
        return scorer;
    }

    @Override
    EvictionPolicy forCache(KvShape shape) {
        return new AdaKvPolicy(budget(), scorer.forCache(shape));
    }

    /** Each head runs its own copy of the scorer. */
    @Override
    EvictionPolicy forHead(int layer, int kvHead) {
        return scorer.forHead(layer, kvHead);
    }

    @Override
    int observedQueries(int batch) {
        return scorer.observedQueries(batch);
    }

    @Override
    void rank(HeadStore head, int keep, Observation batch, float[] rank) {
        scorer.rank(head, keep, batch, rank);
    }

    @Override
    void afterAttention(PolicyHeads heads, int layer) {
        int n = heads.kvHeads();
        long total = 0;
        for (int h = 0; h < n; h++) {
            total += heads.head(layer, h).live();
        }
        int keep = heads.keep(heads.head(layer, 0));
        long excess = total - (long) n * keep;
        if (excess <= 0) {
            heads.forEachHead(layer, (h, head, policy, batch) -> policy.observe(head, batch));
            return;
        }
        if (ranks.length < n) {
            ranks = new float[n][0];
        }
        heads.forEachHead(layer, (h, head, policy, batch) -> {
            policy.observe(head, batch);
            if (ranks[h].length < head.slots()) {
                ranks[h] = new float[head.blocks() * head.blockSize()];
            }
            policy.rank(head, keep, batch, ranks[h]);
        });
        int[] victims = victims(heads, layer, n, keep, excess);
        heads.forEachHead(layer, (h, head, policy, batch) -> {
            if (victims[h] > 0) {
                head.evictLowest(victims[h], ranks[h]);
            }
        });
    }

    /**
     * How many tokens each head gives up: the layer's {@code excess} lowest-ranked tokens once each head's newest and
     * its best {@code floor(ALPHA * keep)} are set aside (ties: the older, then the lower head).
     */
    private int[] victims(PolicyHeads heads, int layer, int n, int keep, long excess) {
        int safe = (int) (keep * ALPHA);
        long[][] order = new long[n][];
        int[] candidates = new int[n];
        for (int h = 0; h < n; h++) {
            HeadStore head = heads.head(layer, h);
            long[] keys = new long[head.live()];
            int count = 0;
            for (int s = 0; s < head.slots(); s++) {
                if (head.position(s) >= 0 && s != head.lastSlot()) {
                    keys[count++] = HeadStore.rankKey(ranks[h][s], head.position(s));
                }
            }
            Arrays.sort(keys, 0, count);
            order[h] = keys;
            candidates[h] = Math.max(0, count - safe);
        }
        int[] taken = new int[n];
        for (long e = 0; e < excess; e++) {
            int best = -1;
            for (int h = 0; h < n; h++) {
                if (taken[h] < candidates[h] && (best < 0 || order[h][taken[h]] < order[best][taken[best]])) {
                    best = h;
                }
            }
            taken[best]++;
        }
        return taken;
    }
}
