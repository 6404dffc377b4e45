package dev.kvslim.serve.schedule;

/**
 * Hears the scheduler's events that monitoring counts; called on the engine thread, so implementations only add to
 * counters and histograms. Times are seconds measured from one monotonic clock, from a request's arrival.
 */
public interface SchedulerObserver {

    /** Observes nothing. */
    SchedulerObserver NONE = new SchedulerObserver() {};

    /**
     * With prefix caching, a sequence was admitted with {@code tokens} tokens to compute, of which {@code hits} were
     * found in a kept cache (vLLM's prefix cache queries and hits, in tokens).
     */
    default void prefixCache(int tokens, int hits) {}

    /** A step ran {@code tokens} tokens through the model (prompt chunks and decode tokens). */
    default void computed(int tokens) {}

    /** A sequence got KV memory for the first time, after {@code queueSeconds} waiting; its prompt counts now. */
    default void admitted(double queueSeconds, int promptTokens) {}

    /** A sequence's first token, {@code seconds} after arrival. */
    default void firstToken(double seconds) {}

    /** A later token, {@code seconds} after the sequence's previous one. */
    default void interToken(double seconds) {}

    /** A sequence was preempted: its blocks went back to the pool and it will be recomputed. */
    default void preempted() {}

    /** Tokens a released cache had evicted, counted per (layer, KV head) entry. */
    default void evicted(long entries) {}

    /**
     * A sequence that holds a cache is about to end: its cache holds {@code blockBytes} in blocks (what the budget is
     * charged) and {@code liveBytes} of kept keys and values. Called before {@link #finished}.
     */
    default void cacheAtFinish(long blockBytes, long liveBytes) {}

    /** A sequence ended. */
    default void finished(FinishReason reason, int promptTokens, int completionTokens, double seconds) {}
}
