package dev.kvslim.eval.cache;

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

    private CacheGrid() {
    }

    /**
     * Policy names from a comma-separated list ("all" for every policy; {@code dms} only when {@code withDms}).
     *
     * @throws IllegalArgumentException naming an unknown policy
     */
    public static List<String> policies(String list, boolean withDms) {
        Set<String> out = new LinkedHashSet<>();
        for (String name : split(list, "--policy")) {
            if (name.equals("all")) {
                CacheSpec.POLICIES.stream().filter(p -> withDms || !p.equals("dms")).forEach(out::add);
            } else if (!CacheSpec.POLICIES.contains(name)) {
                throw new IllegalArgumentException("unknown KV policy '" + name + "'; supported: "
                        + String.join(", ", CacheSpec.POLICIES) + " (or all)");
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
        for (String item : split(list, "--ratio")) {
            double r;
            try {
                r = Double.parseDouble(item);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--ratio takes numbers, not '" + item + "'");
            }
            if (!(r >= 1) || Double.isInfinite(r)) {
                throw new IllegalArgumentException("a compression ratio must be at least 1, got " + item);
            }
            out.add(r);
        }
        return List.copyOf(out);
    }

    /** The settings for {@code policies} x {@code ratios}, as described above, in policy then ratio order. */
    public static List<CacheSpec> expand(List<String> policies, List<Double> ratios) {
        boolean none = policies.contains("none");
        List<CacheSpec> out = new ArrayList<>();
        for (String p : policies) {
            if (!CacheSpec.isBaseline(p)) {
                out.add(new CacheSpec(p, null));
                continue;
            }
            if (ratios.isEmpty()) {
                throw new IllegalArgumentException("KV policy " + p + " needs target compression ratios (--ratio)");
            }
            for (double r : ratios) {
                if (!(none && r == 1)) {
                    out.add(CacheSpec.baseline(p, r));
                }
            }
        }
        return out;
    }

    private static List<String> split(String list, String option) {
        List<String> out = new ArrayList<>();
        for (String item : list.split(",")) {
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
