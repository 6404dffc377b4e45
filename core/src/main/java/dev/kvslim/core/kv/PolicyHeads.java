package dev.kvslim.core.kv;

/**
 * The heads of one {@link PagedKvCache} as its {@link EvictionPolicy} sees them after a batch's attention: every
 * (layer, KV head) store with that head's copy of the policy, the budget, and a parallel loop over a layer's heads
 * that hands each its {@link Observation} of the batch.
 */
interface PolicyHeads {

    /**
     * What a policy does to KV head {@code kvHead} of a layer: {@code policy} is that head's copy, {@code batch} what
     * it saw of the batch.
     */
    @FunctionalInterface
    interface HeadTask {
        void run(int kvHead, HeadStore head, EvictionPolicy policy, Observation batch);
    }

    int layers();

    int kvHeads();

    HeadStore head(int layer, int kvHead);

    EvictionPolicy policy(int layer, int kvHead);

    /** The tokens the budget lets a head that has seen what {@code head} has keep. */
    int keep(HeadStore head);

    /**
     * Runs {@code task} on every head of {@code layer}, heads in parallel, then packs each head's survivors into its
     * lowest slots. The observation holds the batch's observed queries of the layer being attended (for other
     * layers, only what does not read queries is meaningful).
     */
    void forEachHead(int layer, HeadTask task);
}
