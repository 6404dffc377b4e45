package dev.kvslim.eval.cache;

import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvBudget;
import dev.kvslim.core.kv.KvPolicies;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.LlamaConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One KV-cache setting an evaluation compares: {@code none} (every token kept), {@code dms} (the model's learned
 * eviction, at whatever ratio it was trained for) or a training-free baseline of {@link KvPolicies} at a target
 * compression ratio. Every setting is a {@link PagedKvCache}, so all report the same compression ratio and live
 * bytes, measured the same way.
 *
 * @param policy one of {@link #POLICIES}
 * @param ratio  a baseline's target compression ratio (at least 1); null for {@code none} and {@code dms}
 */
public record CacheSpec(String policy, Double ratio) {

    /** The policies an evaluation knows, in the order reports list them. */
    public static final List<String> POLICIES = policies();

    private static List<String> policies() {
        List<String> all = new ArrayList<>(List.of("none", "dms"));
        KvPolicies.NAMES.stream().filter(n -> !n.equals("none")).forEach(all::add);
        return List.copyOf(all);
    }

    public CacheSpec {
        if (!POLICIES.contains(policy)) {
            throw new IllegalArgumentException("unknown KV policy '" + policy + "'; supported: "
                    + String.join(", ", POLICIES) + " (or all)");
        }
        if (isBaseline(policy)) {
            if (ratio == null) {
                throw new IllegalArgumentException("KV policy " + policy + " needs a target compression ratio (--ratio)");
            }
            if (!(ratio >= 1) || ratio.isInfinite()) {
                throw new IllegalArgumentException("a compression ratio must be at least 1, got " + ratio);
            }
        } else if (ratio != null) {
            throw new IllegalArgumentException("KV policy " + policy + " takes no ratio: "
                    + (policy.equals("none") ? "it keeps every token" : "the model's DMS decides what to evict"));
        }
    }

    /** Every token kept. */
    public static CacheSpec none() {
        return new CacheSpec("none", null);
    }

    /** The model's DMS eviction. */
    public static CacheSpec dms() {
        return new CacheSpec("dms", null);
    }

    /** Baseline {@code policy} at target compression ratio {@code ratio}. */
    public static CacheSpec baseline(String policy, double ratio) {
        return new CacheSpec(policy, ratio);
    }

    /** Whether {@code policy} is a training-free baseline (takes a ratio). */
    public static boolean isBaseline(String policy) {
        return !policy.equals("none") && !policy.equals("dms");
    }

    /** The ratio the setting aims at: 1 for {@code none}, the baseline's ratio, null for {@code dms} (learned). */
    public Double targetRatio() {
        return policy.equals("none") ? Double.valueOf(1) : ratio;
    }

    /** "none", "dms" or e.g. "h2o@4". */
    public String label() {
        return ratio == null ? policy : policy + "@" + formatRatio(ratio);
    }

    /** A ratio as written on the command line: "4", "2.5". */
    public static String formatRatio(double ratio) {
        return ratio == Math.rint(ratio) ? Long.toString((long) ratio) : String.format(Locale.ROOT, "%s", ratio);
    }

    /**
     * A fresh cache of this setting for a model shaped {@code config}, holding up to {@code capacity} positions, its
     * blocks from {@code pool}; {@code seed} seeds the {@code random} policy.
     *
     * @throws IllegalArgumentException for {@code dms} when the model carries no DMS settings
     */
    public PagedKvCache newCache(LlamaConfig config, BlockPool pool, int capacity, long seed) {
        return switch (policy) {
            case "none" -> new PagedKvCache(config, pool, capacity, false);
            case "dms" -> {
                if (config.dms() == null) {
                    throw new IllegalArgumentException("KV policy dms needs a model retrofitted with DMS (dms_* settings"
                            + " in its config.json); this one has none");
                }
                yield new PagedKvCache(config, pool, capacity, true);
            }
            default -> new PagedKvCache(config, pool, capacity, KvPolicies.of(policy, KvBudget.ofRatio(ratio),
                    new KvPolicies.Options(KvPolicies.Options.DEFAULTS.sinks(), KvPolicies.Options.DEFAULTS.recent(),
                            KvPolicies.Options.DEFAULTS.observation(), seed)));
        };
    }

    @Override
    public String toString() {
        return label();
    }
}
