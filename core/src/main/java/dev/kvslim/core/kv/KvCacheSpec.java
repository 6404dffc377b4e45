package dev.kvslim.core.kv;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Which KV cache a sequence gets, as one value: every command, the server, the evaluator and the savings report
 * say it this way, {@link #parse} is the one place that reads a policy name, and {@link #newCache} the one place
 * that builds a cache from it.
 * <ul>
 *   <li>{@link Dense}: the contiguous cache of one sequence; keeps every token, F32 only (what llama2.c does).</li>
 *   <li>{@link KeepAll} ({@code none}): the paged cache keeping every token; shares a {@link BlockPool}.</li>
 *   <li>{@link Dms}: the paged cache evicting what the model's learned DMS decisions mark, after a delay of
 *       {@code window} tokens.</li>
 *   <li>{@link Evicting}: the paged cache evicting by a training-free {@link EvictionPolicy} within its
 *       {@link KvBudget}.</li>
 * </ul>
 * DMS is one kind of eviction among the others: the paged kinds share one cache class and differ only in what
 * they let go.
 */
public sealed interface KvCacheSpec {

    /** The names {@link #parse} accepts, in the order reports list them. */
    List<String> NAMES = names();

    /** The names of the paged kinds (no {@code auto}, no one-sequence {@code dense}), as an evaluation grid lists them. */
    List<String> PAGED_NAMES =
            NAMES.stream().filter(n -> !n.equals("auto") && !n.equals("dense")).toList();

    /** The contiguous one-sequence cache. */
    record Dense() implements KvCacheSpec {
        @Override
        public String name() {
            return "dense";
        }

        @Override
        public DenseKvCache newCache(KvShape shape, BlockPool pool, int capacity) {
            return new DenseKvCache(shape, capacity);
        }
    }

    /** The kinds held in a {@link PagedKvCache}, whose blocks come from a shared {@link BlockPool}. */
    sealed interface Paged extends KvCacheSpec permits KeepAll, Dms, Evicting {
        @Override
        default PagedKvCache newCache(KvShape shape, BlockPool pool, int capacity) {
            return new PagedKvCache(shape, pool, capacity, this);
        }
    }

    /** The paged cache keeping every token ({@code none}). */
    record KeepAll() implements Paged {
        @Override
        public String name() {
            return "none";
        }
    }

    /**
     * The model's learned eviction: a token a decision marks stays visible {@code window} more tokens; which token a
     * decision marks, and how prefill treats marks, is the model's {@link DmsRule}.
     */
    record Dms(int window, DmsRule rule) implements Paged {

        /** The reference rule's cache with window {@code window}. */
        public Dms(int window) {
            this(window, DmsRule.REFERENCE);
        }

        public Dms {
            if (window < 0) {
                throw new IllegalArgumentException("the DMS window must be >= 0, got " + window);
            }
            Objects.requireNonNull(rule, "rule");
        }

        @Override
        public String name() {
            return "dms";
        }
    }

    /** A training-free baseline: {@code policy} evicts each head's tokens beyond its budget. */
    record Evicting(EvictionPolicy policy) implements Paged {
        public Evicting {
            Objects.requireNonNull(policy, "policy");
        }

        @Override
        public String name() {
            return policy.name();
        }
    }

    /** The paged cache keeping every token. */
    static KeepAll keepAll() {
        return new KeepAll();
    }

    /** The DMS cache with the window the model was trained with. */
    static Dms dms(KvShape model) {
        requireDms(model);
        return new Dms(model.dmsWindow(), model.dmsRule());
    }

    /** A model's own cache when it must be paged: DMS when it was retrofitted, else keep every token. */
    static Paged modelDefault(KvShape model) {
        return model.hasDms() ? dms(model) : keepAll();
    }

    /** The policy name: one of {@link #NAMES} but {@code auto}. */
    String name();

    /**
     * How outputs, reports and metrics name this cache: {@code dense}, {@code none}, {@code dms}, a baseline at a
     * ratio as {@code h2o@4}, at a token budget as {@code h2o@256tok}.
     */
    default String label() {
        if (this instanceof Evicting e) {
            KvBudget b = e.policy().budget();
            return name() + "@" + (b.tokens() > 0 ? b.tokens() + "tok" : formatRatio(b.ratio()));
        }
        return name();
    }

    /** The compression ratio aimed at: 1 when every token is kept, a baseline's ratio, null when learned or fixed. */
    default Double targetRatio() {
        return switch (this) {
            case Dense d -> 1.0;
            case KeepAll k -> 1.0;
            case Dms d -> null;
            case Evicting e ->
                e.policy().budget().tokens() > 0 ? null : e.policy().budget().ratio();
        };
    }

    /**
     * Whether a front end must replay each prompt through the model before decoding (KVzip, see {@link
     * PagedKvCache#beginReplay}); those that do not ({@link #requireNoReplay}) refuse such a cache.
     */
    default boolean replaysContext() {
        return this instanceof Evicting e && e.policy().replaysContext();
    }

    /** Throws, naming {@code frontEnd}, where this cache would need a replay it does not run. */
    default void requireNoReplay(String frontEnd) {
        if (replaysContext()) {
            throw new IllegalArgumentException("--kv-policy " + name() + " scores a prompt by replaying it through the"
                    + " model before decoding, which " + frontEnd + " does not do (generate and eval --task do)");
        }
    }

    /** Whether the cache ever drops a token. */
    default boolean evicts() {
        return this instanceof Dms || this instanceof Evicting;
    }

    /**
     * A fresh cache of this kind for a model shaped {@code shape}, holding up to {@code capacity} positions; the paged
     * kinds take their blocks from {@code pool} (the dense cache ignores it; it may be null then).
     */
    KvCache newCache(KvShape shape, BlockPool pool, int capacity);

    /**
     * Reads a cache choice as the flags say it.
     *
     * @param name    {@code auto}, {@code dense}, {@code none}, {@code dms} or a baseline of {@link KvPolicies#NAMES},
     *                in any case; {@code auto} is DMS on a model retrofitted with it, else {@code dense}, or
     *                {@code none} where the cache must be paged or hold 16-bit elements
     * @param ratio   a baseline's target compression ratio ({@code --kv-ratio}), or null
     * @param tokens  a baseline's tokens per (layer, KV head) ({@code --kv-tokens}), or null
     * @param window  a DMS window to use instead of the model's ({@code --kv-window}), or null
     * @param model   the shape of the model the cache is for
     * @param type    the element type keys and values are kept in ({@code dense} holds F32 only)
     * @param paged   whether the caller needs a paged cache (several sequences, truncation to a shared prefix)
     * @param options settings of individual baselines
     * @throws IllegalArgumentException with one line naming what is wrong
     */
    static KvCacheSpec parse(
            String name,
            Double ratio,
            Integer tokens,
            Integer window,
            KvShape model,
            KvType type,
            boolean paged,
            KvPolicies.Options options) {
        String n = Objects.requireNonNull(name, "name").strip().toLowerCase(Locale.ROOT);
        if (n.equals("auto")) {
            n = model.hasDms() ? "dms" : paged || type != KvType.F32 ? "none" : "dense";
        }
        if (!NAMES.contains(n) && !KvPolicies.known(n)) {
            throw new IllegalArgumentException(
                    "unknown KV policy '" + name + "'; supported: " + String.join(", ", NAMES));
        }
        boolean baseline = KvPolicies.known(n);
        if (window != null && !n.equals("dms")) {
            throw new IllegalArgumentException("--kv-window sets the DMS window; it needs --kv-policy dms");
        }
        if (!baseline && (ratio != null || tokens != null)) {
            throw new IllegalArgumentException("--kv-ratio and --kv-tokens set a baseline's budget; --kv-policy " + n
                    + (n.equals("dms") ? " has the budget the model learned" : " keeps every token"));
        }
        return switch (n) {
            case "dense" -> {
                if (type != KvType.F32) {
                    throw new IllegalArgumentException("--kv-type " + type + " needs the paged cache: use --kv-policy"
                            + " none (or dms, or a baseline); dense holds F32 only");
                }
                if (paged) {
                    throw new IllegalArgumentException("--kv-policy dense is the contiguous F32 cache of one sequence;"
                            + " here the cache is paged: use none to keep every token");
                }
                yield new Dense();
            }
            case "none" -> keepAll();
            case "dms" -> {
                requireDms(model);
                yield new Dms(window != null ? window : model.dmsWindow(), model.dmsRule());
            }
            default -> {
                if (ratio == null == (tokens == null)) {
                    throw new IllegalArgumentException("--kv-policy " + n + " needs one of --kv-ratio and --kv-tokens");
                }
                KvBudget budget;
                try {
                    budget = ratio != null ? KvBudget.ofRatio(ratio) : KvBudget.ofTokens(tokens);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(
                            ratio != null
                                    ? "--kv-ratio must be at least 1, got " + ratio
                                    : "--kv-tokens must be at least 1, got " + tokens);
                }
                yield new Evicting(KvPolicies.of(n, budget, options));
            }
        };
    }

    /** {@link #parse} of a cache that must be paged, in F32 elements, with the baselines' default options. */
    static KvCacheSpec parse(String name, Double ratio, Integer tokens, Integer window, KvShape model) {
        return parse(name, ratio, tokens, window, model, KvType.F32, true, KvPolicies.Options.DEFAULTS);
    }

    /** Whether {@code name} (any case) is a training-free baseline, which takes a ratio or a token budget. */
    static boolean isBaseline(String name) {
        return KvPolicies.known(name.toLowerCase(Locale.ROOT));
    }

    /** Whether the cache a name or label stands for keeps every token ({@code none} or {@code dense}). */
    static boolean keepsEveryToken(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.equals("none") || n.equals("dense");
    }

    /** Whether a name or label stands for the model's learned DMS eviction. */
    static boolean isDms(String name) {
        return name.toLowerCase(Locale.ROOT).equals("dms");
    }

    /** A ratio as written on the command line: "4", "2.5". */
    static String formatRatio(double ratio) {
        return ratio == Math.rint(ratio) ? Long.toString((long) ratio) : String.format(Locale.ROOT, "%s", ratio);
    }

    private static void requireDms(KvShape model) {
        if (!model.hasDms()) {
            throw new IllegalArgumentException("--kv-policy dms: the model was not retrofitted with DMS (it has no"
                    + " dms_* settings in its config)");
        }
    }

    private static List<String> names() {
        List<String> all = new ArrayList<>(List.of("auto", "dense", "none", "dms"));
        all.addAll(KvPolicies.NAMES);
        return List.copyOf(all);
    }
}
