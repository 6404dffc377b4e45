package dev.kvslim.eval.cache;

import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvPolicies;
import dev.kvslim.core.kv.KvShape;
import dev.kvslim.core.kv.KvType;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The cache settings of a grid run: every policy asked for at every ratio asked for. {@code none} and {@code dms} run
 * once (they take no ratio). A baseline at ratio 1 keeps every token, which is what {@code none} computes, so when
 * {@code none} is in the grid the baselines skip ratio 1 and reports take {@code none} as everyone's ratio-1 point.
 */
public final class CacheGrid {

    private CacheGrid() {}

    /** The policies a grid compares: every paged kind (no {@code auto}, no one-sequence {@code dense}). */
    private static final List<String> GRID = KvCacheSpec.PAGED_NAMES;

    /**
     * Policy names from a comma-separated list ("all" for every policy; {@code dms} only when {@code withDms}).
     *
     * @throws IllegalArgumentException naming an unknown policy
     */
    public static List<String> policies(String list, boolean withDms) {
        Set<String> out = new LinkedHashSet<>();
        for (String name : split(list, "--kv-policy")) {
            if (name.equals("all")) {
                GRID.stream().filter(p -> withDms || !KvCacheSpec.isDms(p)).forEach(out::add);
            } else if (!GRID.contains(name) && !KvPolicies.known(name)) {
                throw new IllegalArgumentException(
                        "unknown KV policy '" + name + "'; supported: " + String.join(", ", GRID) + " (or all)");
            } else {
                out.add(name);
            }
        }
        return List.copyOf(out);
    }

    /**
     * Ratios from a comma-separated list, e.g. "1,2,4,8".
     *
     * @throws IllegalArgumentException naming a ratio that is not a number or is below 1
     */
    public static List<Double> ratios(String list) {
        Set<Double> out = new LinkedHashSet<>();
        for (String item : split(list, "--kv-ratio")) {
            double r;
            try {
                r = Double.parseDouble(item);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--kv-ratio takes numbers, not '" + item + "'");
            }
            if (!(r >= 1) || Double.isInfinite(r)) {
                throw new IllegalArgumentException("a compression ratio must be at least 1, got " + item);
            }
            out.add(r);
        }
        return List.copyOf(out);
    }

    /**
     * The settings for {@code policies} x {@code ratios}, as described above, in policy then ratio order, for a model
     * shaped {@code model}; {@code seed} seeds the {@code random} policy.
     */
    public static List<KvCacheSpec.Paged> expand(List<String> policies, List<Double> ratios, KvShape model, long seed) {
        boolean none = policies.stream().anyMatch(KvCacheSpec::keepsEveryToken);
        KvPolicies.Options options = KvPolicies.Options.DEFAULTS.withSeed(seed);
        List<KvCacheSpec.Paged> out = new ArrayList<>();
        for (String p : policies) {
            if (!KvCacheSpec.isBaseline(p)) {
                out.add(paged(KvCacheSpec.parse(p, null, null, null, model, KvType.F32, true, options)));
                continue;
            }
            if (ratios.isEmpty()) {
                throw new IllegalArgumentException("KV policy " + p + " needs target compression ratios (--kv-ratio)");
            }
            for (double r : ratios) {
                if (!(none && r == 1)) {
                    out.add(paged(KvCacheSpec.parse(p, r, null, null, model, KvType.F32, true, options)));
                }
            }
        }
        return out;
    }

    private static KvCacheSpec.Paged paged(KvCacheSpec spec) {
        return (KvCacheSpec.Paged) spec;
    }

    private static List<String> split(String list, String option) {
        List<String> out = new ArrayList<>();
        for (String item : list.split(",", -1)) {
            String s = item.trim().toLowerCase(java.util.Locale.ROOT);
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(option + " needs at least one value");
        }
        return out;
    }
}
