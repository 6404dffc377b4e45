package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.Kernels;
import java.util.Objects;

/**
 * Which tokens a {@link PagedKvCache} drops to stay within a {@link KvBudget}: one of the training-free baselines
 * DMS is compared against, as NVIDIA kvpress defines them ({@code kvpress/presses/*.py}); {@link KvPolicies#of}
 * makes them by name. Every (layer, KV head) decides on its own. After each batch's attention (a prefill chunk or a
 * decode step) the cache hands every head to its policy, which reads what it needs (positions, key norms, the
 * attention weights of the batch's last queries) and evicts the tokens over the budget; the cache then packs the
 * survivors into the head's lowest slots and returns emptied blocks to the pool. The newest token is never evicted.
 */
public abstract sealed class EvictionPolicy
        permits StreamingLlmPolicy, H2oPolicy, TovaPolicy, SnapKvPolicy, KnormPolicy, KeyDiffPolicy, RandomPolicy {

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

    /** This policy for (layer, KV head) of one cache: a fresh copy for the policies with state, else itself. */
    EvictionPolicy forHead(int layer, int kvHead) {
        return this;
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

    /** Called after a batch's attention: evicts tokens of {@code head} beyond {@code keep}. */
    abstract void evict(HeadStore head, int keep, Observation batch);
}
