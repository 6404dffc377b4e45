package dev.kvslim.core.kv;

/**
 * K-norm (Devoto et al., "A Simple and Effective L2 Norm-Based Strategy for KV Cache Compression", 2024; kvpress
 * {@code KnormPress}, which keeps the keys of lowest L2 norm): the key with the largest norm goes first; the newest
 * token stays. Norms are of the stored (post-RoPE) keys, which RoPE leaves unchanged.
 */
final class KnormPolicy extends EvictionPolicy {

    KnormPolicy(KvBudget budget) {
        super("knorm", budget);
    }

    @Override
    void stored(HeadStore head, int slot, float[] k, int kOff) {
        scoreByKeyNorm(head, slot, k, kOff);
    }

    @Override
    void rank(HeadStore head, int keep, Observation batch, float[] rank) {
        for (int s = 0; s < head.slots(); s++) {
            rank[s] = -head.score(s);
        }
    }
}
