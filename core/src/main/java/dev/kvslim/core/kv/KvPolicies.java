package dev.kvslim.core.kv;

import java.util.List;

/**
 * The training-free KV eviction policies of a {@link PagedKvCache} by name, the baselines of NVIDIA kvpress that DMS
 * is compared against: {@code streaming} (StreamingLLM), {@code h2o}, {@code tova}, {@code snapkv}, {@code knorm},
 * {@code keydiff}, {@code expected-attention}, {@code adakv} (head-adaptive budgets over SnapKV's scores or another
 * scorer's), {@code duo} (DuoAttention's retrieval and streaming heads), {@code kvzip} (scores from the model
 * replaying the prompt; only front ends that run that replay take it) and {@code random}. A cache choice as a whole
 * (these, DMS, or keeping every token) is a {@link KvCacheSpec}.
 */
public final class KvPolicies {

    /** The names {@link #of} accepts. */
    public static final List<String> NAMES = List.of(
            "streaming",
            "h2o",
            "tova",
            "snapkv",
            "knorm",
            "keydiff",
            "expected-attention",
            "adakv",
            "duo",
            "kvzip",
            "random");

    /** The policies {@code adakv} can take its scores from: those that rank each head's tokens. */
    public static final List<String> SCORERS = NAMES.stream()
            .filter(n -> !n.equals("adakv") && !n.equals("duo") && !n.equals("kvzip"))
            .toList();

    /**
     * Settings of individual policies.
     *
     * @param sinks       streaming, duo: first tokens always kept (the attention sinks); expected-attention: first
     *                    queries left out of the statistics and first tokens always kept
     * @param recent      h2o: most recent tokens always kept, 0 for half the budget; duo: the fewest recent tokens a
     *                    streaming head keeps besides its sinks, 0 for 8
     * @param observation snapkv: queries of the observation window
     * @param seed        random: seed of the eviction draws
     * @param scorer      adakv: the policy whose scores it ranks by, one of {@link #SCORERS}
     */
    public record Options(int sinks, int recent, int observation, long seed, String scorer) {

        /** 4 sinks, half the budget recent, a 32-query window, seed 0, AdaKV over SnapKV. */
        public static final Options DEFAULTS = new Options(4, 0, 32, 0);

        /** Options with AdaKV over SnapKV. */
        public Options(int sinks, int recent, int observation, long seed) {
            this(sinks, recent, observation, seed, "snapkv");
        }

        /** These options with the random policy's seed {@code seed}. */
        public Options withSeed(long seed) {
            return new Options(sinks, recent, observation, seed, scorer);
        }

        /** These options with AdaKV over {@code scorer}. */
        public Options withScorer(String scorer) {
            return new Options(sinks, recent, observation, seed, scorer);
        }

        public Options {
            if (sinks < 0 || recent < 0 || observation < 1) {
                throw new IllegalArgumentException(
                        "KV policy options need sinks >= 0, recent >= 0 and observation >= 1: " + sinks + ", " + recent
                                + ", " + observation);
            }
            if (!SCORERS.contains(scorer)) {
                throw new IllegalArgumentException(
                        "unknown AdaKV scorer '" + scorer + "'; supported: " + String.join(", ", SCORERS));
            }
        }
    }

    private KvPolicies() {}

    /**
     * Whether {@code name} is a policy {@link #of} makes: one of {@link #NAMES}, or {@code adakv:SCORER} for AdaKV
     * over another scorer of {@link #SCORERS} ({@code adakv} alone is {@code adakv:snapkv}).
     */
    public static boolean known(String name) {
        return NAMES.contains(name)
                || name.startsWith(ADAKV_OVER) && SCORERS.contains(name.substring(ADAKV_OVER.length()));
    }

    private static final String ADAKV_OVER = "adakv:";

    /** The policy {@code name} with the default options. */
    public static EvictionPolicy of(String name, KvBudget budget) {
        return of(name, budget, Options.DEFAULTS);
    }

    /**
     * The policy {@code name} (one of {@link #NAMES}) keeping {@code budget} tokens per (layer, KV head).
     */
    public static EvictionPolicy of(String name, KvBudget budget, Options options) {
        if (name.startsWith(ADAKV_OVER) && known(name)) {
            return of("adakv", budget, options.withScorer(name.substring(ADAKV_OVER.length())));
        }
        return switch (name) {
            case "streaming" -> new StreamingLlmPolicy(budget, options.sinks());
            case "h2o" -> new H2oPolicy(budget, options.recent());
            case "tova" -> new TovaPolicy(budget);
            case "snapkv" -> new SnapKvPolicy(budget, options.observation());
            case "knorm" -> new KnormPolicy(budget);
            case "keydiff" -> new KeyDiffPolicy(budget);
            case "expected-attention" -> new ExpectedAttentionPolicy(budget, options.sinks());
            case "adakv" -> new AdaKvPolicy(budget, of(options.scorer(), budget, options));
            case "duo" -> new DuoAttentionPolicy(budget, options.sinks(), options.recent() > 0 ? options.recent() : 8);
            case "kvzip" -> new KvZipPolicy(budget);
            case "random" -> new RandomPolicy(budget, options.seed());
            default ->
                throw new IllegalArgumentException("unknown KV policy '" + name + "'; supported: "
                        + String.join(", ", NAMES) + " (adakv:SCORER for AdaKV over another scorer)");
        };
    }
}
