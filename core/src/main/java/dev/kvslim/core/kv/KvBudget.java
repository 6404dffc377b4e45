package dev.kvslim.core.kv;

/**
 * How many tokens an {@link EvictionPolicy} lets each (layer, KV head) keep: a target compression ratio R, keeping
 * {@code ceil(seen / R)} of the tokens the head has seen (kvpress's {@code compression_ratio} is the fraction
 * removed, {@code 1 - 1/R}), or a fixed budget of B tokens.
 *
 * @param ratio  the target compression ratio (at least 1), or 0 for a token budget
 * @param tokens the most tokens a head keeps (at least 1), or 0 for a ratio
 */
public record KvBudget(double ratio, int tokens) {

    public KvBudget {
        if (tokens == 0 ? !(ratio >= 1 && ratio < Double.POSITIVE_INFINITY) : tokens < 0 || ratio != 0) {
            throw new IllegalArgumentException(
                    "a KV budget is a compression ratio of at least 1 or a token count of at " + "least 1, not ratio "
                            + ratio + " and " + tokens + " tokens");
        }
    }

    /** Keep {@code ceil(seen / ratio)} tokens per head. */
    public static KvBudget ofRatio(double ratio) {
        return new KvBudget(ratio, 0);
    }

    /** Keep at most {@code tokens} tokens per head. */
    public static KvBudget ofTokens(int tokens) {
        return new KvBudget(0, tokens);
    }

    /** Tokens a head that has seen {@code seen} keeps. */
    public int keep(long seen) {
        return (int) (tokens > 0 ? Math.min(seen, tokens) : Math.ceil(seen / ratio));
    }

    @Override
    public String toString() {
        return tokens > 0 ? tokens + " tokens per head" : "ratio " + ratio;
    }
}
