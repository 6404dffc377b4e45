package dev.kvslim.core.kv;

import java.util.List;

/**
 * The training-free KV eviction policies of a {@link PagedKvCache} by name, the baselines of NVIDIA kvpress that DMS
 * is compared against: {@code streaming} (StreamingLLM), {@code h2o}, {@code tova}, {@code snapkv}, {@code knorm},
 * {@code keydiff} and {@code random}. A cache choice as a whole (these, DMS, or keeping every token) is a {@link KvCacheSpec}.
 */
public final class KvPolicies {

    /** The names {@link #of} accepts. */
    public static final List<String> NAMES =
            List.of("streaming", "h2o", "tova", "snapkv", "knorm", "keydiff", "random");

    /**
     * Settings of individual policies.
     *
     * @param sinks       streaming: first tokens always kept (the attention sinks)
     * @param recent      h2o: most recent tokens always kept; 0 for half the budget
     * @param observation snapkv: queries of the observation window
     * @param seed        random: seed of the eviction draws
     */
    public record Options(int sinks, int recent, int observation, long seed) {

        /** 4 sinks, half the budget recent, a 32-query window, seed 0. */
        public static final Options DEFAULTS = new Options(4, 0, 32, 0);

        /** These options with the random policy's seed {@code seed}. */
        public Options withSeed(long seed) {
            return new Options(sinks, recent, observation, seed);
        }

        public Options {
            if (sinks < 0 || recent < 0 || observation < 1) {
                throw new IllegalArgumentException(
                        "KV policy options need sinks >= 0, recent >= 0 and observation >= 1: " + sinks + ", " + recent
                                + ", " + observation);
            }
        }
    }

    private KvPolicies() {}

    /** The policy {@code name} with the default options. */
    public static EvictionPolicy of(String name, KvBudget budget) {
        return of(name, budget, Options.DEFAULTS);
    }

    /**
     * The policy {@code name} (one of {@link #NAMES}) keeping {@code budget} tokens per (layer, KV head).
     */
    public static EvictionPolicy of(String name, KvBudget budget, Options options) {
        return switch (name) {
            case "streaming" -> new StreamingLlmPolicy(budget, options.sinks());
            case "h2o" -> new H2oPolicy(budget, options.recent());
            case "tova" -> new TovaPolicy(budget);
            case "snapkv" -> new SnapKvPolicy(budget, options.observation());
            case "knorm" -> new KnormPolicy(budget);
            case "keydiff" -> new KeyDiffPolicy(budget);
            case "random" -> new RandomPolicy(budget, options.seed());
            default ->
                throw new IllegalArgumentException(
                        "unknown KV policy '" + name + "'; supported: " + String.join(", ", NAMES));
        };
    }
}
