package dev.kvslim.core.kv;

/** Policy {@code none}: every token stays (compression ratio 1), as in the dense cache. */
final class KeepAllPolicy extends EvictionPolicy {

    KeepAllPolicy() {
        super("none", KvBudget.ofRatio(1));
    }

    @Override
    void evict(HeadStore head, int keep, Observation batch) {
    }
}
