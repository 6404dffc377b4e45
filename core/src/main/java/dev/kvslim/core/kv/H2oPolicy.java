package dev.kvslim.core.kv;

/**
 * H2O, the heavy-hitter oracle (Zhang et al., "H2O: Heavy-Hitter Oracle for Efficient Generative Inference of Large
 * Language Models", 2023; kvpress has no press of that name, its issues compare it with {@code
 * ObservedAttentionPress}, which scores by the same accumulated attention): a token's score is the attention every
 * query so far has put on it (the softmax weights summed over the queries, averaged over the group's query heads).
 * The most recent {@code recent} tokens stay (by default half the budget); of the older ones, the lowest score
 * goes first.
 */
final class H2oPolicy extends EvictionPolicy {

    private final int recent;

    /** {@code recent} 0 means half the budget. */
    H2oPolicy(KvBudget budget, int recent) {
        super("h2o", budget);
        this.recent = recent;
    }

    @Override
    int observedQueries(int batch) {
        return batch;
    }

    @Override
    void observe(HeadStore head, Observation batch) {
        for (int i = 0; i < batch.count(); i++) {
            float[] w = batch.weights(i);
            for (int s = 0; s < head.slots(); s++) {
                head.setScore(s, head.score(s) + w[s]);
            }
        }
    }

    @Override
    void rank(HeadStore head, int keep, Observation batch, float[] rank) {
        int window = Math.min(recent > 0 ? recent : keep / 2, keep);
        int newest = head.position(head.lastSlot());
        for (int s = 0; s < head.slots(); s++) {
            rank[s] = head.position(s) > newest - window ? Float.POSITIVE_INFINITY : head.score(s);
        }
    }
}
