package dev.kvslim.serve.schedule;

import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.EvictionPolicy;
import dev.kvslim.core.kv.KvPolicies;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.LlamaConfig;
import java.util.Objects;

/**
 * Which KV cache a scheduler gives its sequences: the model's DMS cache, or a paged cache that keeps everything or
 * evicts by a training-free {@link EvictionPolicy}. A server serves a model with {@link #of its own} (DMS when it was
 * retrofitted); the savings report and the load benchmark run the same workload with each of two choices side by side.
 *
 * @param dms    evict what the model's DMS decisions mark
 * @param policy evict by this policy instead ({@link KvPolicies#NONE}: keep every token)
 */
public record CacheChoice(boolean dms, EvictionPolicy policy) {

    public CacheChoice {
        Objects.requireNonNull(policy, "policy");
        if (dms && policy != KvPolicies.NONE) {
            throw new IllegalArgumentException("a cache evicts by DMS or by a policy, not both");
        }
    }

    /** The model's own cache: DMS when the model carries DMS settings, else uncompressed. */
    public static CacheChoice of(LlamaConfig config) {
        return new CacheChoice(config.dms() != null, KvPolicies.NONE);
    }

    /** The DMS cache. */
    public static CacheChoice dmsCache() {
        return new CacheChoice(true, KvPolicies.NONE);
    }

    /** A cache that keeps every token. */
    public static CacheChoice uncompressed() {
        return new CacheChoice(false, KvPolicies.NONE);
    }

    /** A cache evicting by {@code policy}. */
    public static CacheChoice evicting(EvictionPolicy policy) {
        return new CacheChoice(false, policy);
    }

    /** Whether the cache ever evicts. */
    public boolean compresses() {
        return dms || policy != KvPolicies.NONE;
    }

    /** A new cache of this kind for one sequence. */
    PagedKvCache newCache(LlamaConfig config, BlockPool pool, int capacity) {
        return dms ? new PagedKvCache(config, pool, capacity, true) : new PagedKvCache(config, pool, capacity, policy);
    }

    /** How reports name it: "DMS", "uncompressed" or the policy with its budget. */
    public String label() {
        return dms ? "DMS" : policy == KvPolicies.NONE ? "uncompressed" : policy.toString();
    }
}
