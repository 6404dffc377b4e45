package dev.kvslim.core.kv;

import java.util.SplittableRandom;

/**
 * Random eviction (kvpress {@code RandomPress}), the floor every other policy should beat: a uniformly random token
 * other than the newest goes, drawn from a generator seeded by {@code seed} and the (layer, KV head), so runs repeat.
 */
final class RandomPolicy extends EvictionPolicy {

    private final long seed;
    private final SplittableRandom random;

    RandomPolicy(KvBudget budget, long seed) {
        this(budget, seed, null);
    }

    private RandomPolicy(KvBudget budget, long seed, SplittableRandom random) {
        super("random", budget);
        this.seed = seed;
        this.random = random;
    }

    @Override
    EvictionPolicy forHead(int layer, int kvHead) {
        return new RandomPolicy(
                budget(), seed, new SplittableRandom(seed + 0x9E3779B97F4A7C15L * ((long) layer << 32 | kvHead + 1)));
    }

    /** Uniform random ranks (AdaKV over random scores). */
    @Override
    void rank(HeadStore head, int keep, Observation batch, float[] rank) {
        for (int s = 0; s < head.slots(); s++) {
            rank[s] = random.nextFloat();
        }
    }

    /** Evicts a uniformly random set of the tokens other than the newest (a partial Fisher-Yates shuffle). */
    @Override
    void evict(HeadStore head, int keep, Observation batch) {
        int excess = head.live() - keep;
        if (excess <= 0) {
            return;
        }
        int[] candidates = new int[head.live()];
        int n = 0;
        for (int s = 0; s < head.slots(); s++) {
            if (head.position(s) >= 0 && s != head.lastSlot()) {
                candidates[n++] = s;
            }
        }
        for (int i = 0; i < excess; i++) {
            int j = i + random.nextInt(n - i);
            int slot = candidates[j];
            candidates[j] = candidates[i];
            head.evict(slot);
        }
    }
}
