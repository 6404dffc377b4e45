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
    void evict(HeadStore head, int keep, Observation batch) {
        int excess = head.live() - keep;
        if (excess <= 0) {
            return;
        }
        int kept = Math.min(sinks, keep - 1);
        float[] rank = batch.rank();
        for (int s = 0; s < head.slots(); s++) {
            int p = head.position(s);
            rank[s] = p < kept ? Float.POSITIVE_INFINITY : p;
        }
        head.evictLowest(excess, rank);
    }
}
