package dev.kvslim.core.kv;

/**
 * KeyDiff (Park et al., "KeyDiff: Key Similarity-Based KV Cache Eviction for Long-Context LLM Inference in
 * Resource-Constrained Environments", arXiv 2504.15364; kvpress {@code KeyDiffPress}): keys that point where most keys
 * point are redundant. The anchor is the mean of the head's unit-length keys; a token's score is minus the cosine
 * similarity of its key to the anchor, and the most similar go first. No attention weights are read, so it works
 * with any attention kernel; the newest token stays. Keys are the stored (post-RoPE) ones, as kvpress scores them.
 */
final class KeyDiffPolicy extends EvictionPolicy {

    KeyDiffPolicy(KvBudget budget) {
        super("keydiff", budget);
    }

    @Override
    void stored(HeadStore head, int slot, float[] k, int kOff) {
        scoreByKeyNorm(head, slot, k, kOff);
    }

    @Override
    void rank(HeadStore head, int keep, Observation batch, float[] rank) {
        int hs = head.headSize();
        float[] anchor = new float[hs];
        for (int s = 0; s < head.slots(); s++) {
            float norm = head.score(s);
            if (head.position(s) >= 0 && norm > 0) {
                for (int c = 0; c < hs; c++) {
                    anchor[c] += head.key(s, c) / norm;
                }
            }
        }
        for (int s = 0; s < head.slots(); s++) {
            float dot = 0;
            for (int c = 0; c < hs; c++) {
                dot += head.key(s, c) * anchor[c];
            }
            float norm = head.score(s);
            // minus the cosine up to the anchor's norm, the same for every token
            rank[s] = norm > 0 ? -dot / norm : 0f;
        }
    }
}
