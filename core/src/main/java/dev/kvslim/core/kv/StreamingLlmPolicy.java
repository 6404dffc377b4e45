package dev.kvslim.core.kv;

/**
 * StreamingLLM (Xiao et al., "Efficient Streaming Language Models with Attention Sinks", 2023; kvpress
 * {@code StreamingLLMPress}): keeps the first {@code sinks} tokens, the attention sinks, and the most recent ones;
 * the oldest token after the sinks goes first. A budget too small for every sink and the newest token keeps the
 * first {@code keep - 1} sinks.
 */
final class StreamingLlmPolicy extends EvictionPolicy {

    private final int sinks;

    StreamingLlmPolicy(KvBudget budget, int sinks) {
        super("streaming", budget);
        this.sinks = sinks;
    }

    @Override
    void rank(HeadStore head, int keep, Observation batch, float[] rank) {
        rankSinksThenRecent(head, Math.min(sinks, keep - 1), rank);
    }

    /** Ranks the first {@code sinks} positions above all, then the others by position (the oldest lowest). */
    static void rankSinksThenRecent(HeadStore head, int sinks, float[] rank) {
        for (int s = 0; s < head.slots(); s++) {
            int p = head.position(s);
            rank[s] = p < sinks ? Float.POSITIVE_INFINITY : p;
        }
    }
}
