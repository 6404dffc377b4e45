package dev.kvslim.core.kv;

/**
 * TOVA, token omission via attention (Oren et al., "Transformers are Multi-State RNNs", 2024; kvpress
 * {@code TOVAPress}): the token the latest query attends to least (its softmax weight averaged over the group's
 * query heads) goes first; the newest token stays. kvpress also averages the scores over the KV heads of a layer;
 * here each KV head ranks its own tokens, like every policy of this cache.
 */
final class TovaPolicy extends EvictionPolicy {

    TovaPolicy(KvBudget budget) {
        super("tova", budget);
    }

    @Override
    int observedQueries(int batch) {
        return 1;
    }

    @Override
    void rank(HeadStore head, int keep, Observation batch, float[] rank) {
        System.arraycopy(batch.weights(0), 0, rank, 0, head.slots());
    }
}
