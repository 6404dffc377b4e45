package dev.kvslim.serve.schedule;

import dev.kvslim.core.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Log probabilities of a step's tokens under the model's distribution: log-softmax of the raw logits. */
final class Logprobs {

    private Logprobs() {}

    /** The chosen token's log probability and the {@code top} most likely tokens (best first, ties to lower ids). */
    static TokenEvent.TokenLogprobs of(float[] logits, int chosen, int top, Tokenizer tokenizer, int previous) {
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        float logZ = (float) (max + Math.log(sum));
        int[] best = topIds(logits, top);
        List<TokenEvent.Candidate> candidates = new ArrayList<>(best.length);
        for (int id : best) {
            candidates.add(new TokenEvent.Candidate(id, piece(tokenizer, previous, id), logits[id] - logZ));
        }
        return new TokenEvent.TokenLogprobs(piece(tokenizer, previous, chosen), logits[chosen] - logZ, candidates);
    }

    /** Ids of the k largest logits, largest first (k is small: a sorted insertion list). */
    static int[] topIds(float[] logits, int k) {
        int n = Math.min(k, logits.length);
        int[] ids = new int[n];
        if (n == 0) {
            return ids;
        }
        int count = 0;
        for (int i = 0; i < logits.length; i++) {
            if (count < n || logits[i] > logits[ids[count - 1]]) {
                int at = Math.min(count, n - 1);
                while (at > 0 && logits[i] > logits[ids[at - 1]]) {
                    ids[at] = ids[at - 1];
                    at--;
                }
                ids[at] = i;
                count = Math.min(count + 1, n);
            }
        }
        return ids;
    }

    private static String piece(Tokenizer tokenizer, int previous, int id) {
        return new String(tokenizer.decodePiece(previous, id), StandardCharsets.UTF_8);
    }
}
