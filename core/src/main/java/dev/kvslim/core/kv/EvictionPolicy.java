package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.Kernels;
import java.util.Objects;

/**
 * Which tokens a {@link PagedKvCache} drops to stay within a {@link KvBudget}: one of the training-free baselines
 * DMS is compared against, as NVIDIA kvpress defines them ({@code kvpress/presses/*.py}); {@link KvPolicies#of}
 * makes them by name. Each (layer, KV head) has its own copy of the policy, and most decide on their own: after
 * each batch's attention (a prefill chunk or a decode step) the cache hands every head to its policy, which takes in
 * what it needs ({@link #observe}: positions, key norms, the attention weights of the batch's last queries), ranks
 * its tokens ({@link #rank}) and evicts those over the budget. AdaKV shares the budget among a layer's heads and
 * DuoAttention among the whole cache's ({@link #afterAttention}). The cache then packs the survivors into each
 * head's lowest slots and returns emptied blocks to the pool. A head's newest token is never evicted.
 */
public abstract sealed class EvictionPolicy
        permits StreamingLlmPolicy,
                H2oPolicy,
                TovaPolicy,
                SnapKvPolicy,
                KnormPolicy,
                KeyDiffPolicy,
                ExpectedAttentionPolicy,
                AdaKvPolicy,
                DuoAttentionPolicy,
                KvZipPolicy,
                RandomPolicy {

    private final String name;
    private final KvBudget budget;

    EvictionPolicy(String name, KvBudget budget) {
        this.name = name;
        this.budget = Objects.requireNonNull(budget, "budget");
    }

    /** The name {@link KvPolicies#of} knows this policy by. */
    public final String name() {
        return name;
    }

    public final KvBudget budget() {
        return budget;
    }

    @Override
    public String toString() {
        return name + " (" + budget + ")";
    }

    /**
     * This policy for one cache of {@code shape}: a fresh copy for the policies that share state among the cache's
     * heads (AdaKV, DuoAttention), else itself. The cache then asks it for each head's copy ({@link #forHead}).
     */
    EvictionPolicy forCache(KvShape shape) {
        return this;
    }

    /** This policy for (layer, KV head) of one cache: a fresh copy for the policies with state, else itself. */
    EvictionPolicy forHead(int layer, int kvHead) {
        return this;
    }

    /**
     * Whether the policy scores a prompt by having the model replay it before decoding (KVzip): a front end then runs
     * the replay through {@link PagedKvCache#beginReplay}; until it ends, the policy evicts nothing.
     */
    boolean replaysContext() {
        return false;
    }

    /** The replay of the first {@code contextLength} positions starts ({@link #replaysContext} policies only). */
    void beginReplay(int contextLength) {
        throw new IllegalStateException(name + " does not replay its context");
    }

    /** The replay has ended and its tokens are gone from {@code heads}: evict down to the budget. */
    void endReplay(PolicyHeads heads) {
        throw new IllegalStateException(name + " does not replay its context");
    }

    /** How many of a batch's last queries' attention weights the policy reads (0: it reads none). */
    int observedQueries(int batch) {
        return 0;
    }

    /** Called as a token is stored in {@code slot} of {@code head}, with its key at {@code k[kOff..]}. */
    void stored(HeadStore head, int slot, float[] k, int kOff) {}

    /** Keeps the L2 norm of the key at {@code k[kOff..]} as the score of {@code slot} (the key-ranking policies). */
    static void scoreByKeyNorm(HeadStore head, int slot, float[] k, int kOff) {
        head.setScore(slot, (float) Math.sqrt(Kernels.dot(k, kOff, k, kOff, head.headSize())));
    }

    /**
     * Takes in what a batch adds to the policy's state (attention accumulated so far, statistics of the queries);
     * called after every batch, whether or not the head is over its budget.
     */
    void observe(HeadStore head, Observation batch) {}

    /**
     * How much the policy wants to keep each live token of {@code head}, higher kept first, into {@code rank[slot]}
     * ({@code +Infinity}: always kept); a head over its budget of {@code keep} tokens, after {@link #observe}. The
     * ranks of different heads are comparable where the score is an attention weight (AdaKV ranks a layer's tokens
     * together).
     */
    abstract void rank(HeadStore head, int keep, Observation batch, float[] rank);

    /** After a batch's attention: {@link #observe}, then evicts the lowest-ranked tokens of {@code head} beyond {@code keep}. */
    void evict(HeadStore head, int keep, Observation batch) {
        observe(head, batch);
        int excess = head.live() - keep;
        if (excess > 0) {
            float[] rank = batch.rank();
            rank(head, keep, batch, rank);
            head.evictLowest(excess, rank);
        }
    }

    /**
     * Evicts after a batch's attention in {@code layer}: each head by its own copy ({@link #evict}), heads in
     * parallel. The policies that share a budget among heads (AdaKV within a layer, DuoAttention across the cache)
     * replace this.
     */
    void afterAttention(PolicyHeads heads, int layer) {
        heads.forEachHead(layer, (h, head, policy, batch) -> policy.evict(head, heads.keep(head), batch));
    }
}
