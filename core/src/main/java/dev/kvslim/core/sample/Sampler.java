package dev.kvslim.core.sample;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks token ids from logits under {@link SamplingParams}: temperature, then top-k, min-p and top-p over the
 * softmax, then a draw from what is left. Holds its scratch, so one sampler serves one sequence at a time.
 */
public final class Sampler {

    private final SamplingParams params;
    private final SplittableRandom random;
    private final float[] probs;
    private final long[] order;

    public Sampler(SamplingParams params, int vocabSize) {
        this.params = params;
        this.random = new SplittableRandom(params.seed());
        this.probs = new float[vocabSize];
        this.order = new long[vocabSize];
    }

    public SamplingParams params() {
        return params;
    }

    /** Index of the largest value; ties go to the lowest index, as llama2.c's {@code sample_argmax}. */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    public int sample(float[] logits) {
        if (logits.length != probs.length) {
            throw new IllegalArgumentException("logits have " + logits.length + " entries, sampler expects " + probs.length);
        }
        if (params.greedy()) {
            return argmax(logits);
        }
        int n = logits.length;
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        float inv = 1f / params.temperature();
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float p = (float) Math.exp((logits[i] - max) * inv);
            probs[i] = p;
            sum += p;
        }
        boolean filter = params.topK() > 0 || params.topP() < 1f || params.minP() > 0f;
        if (!filter) {
            return draw(n, sum, false);
        }
        // sort candidates by probability, descending; ties by id ascending
        for (int i = 0; i < n; i++) {
            order[i] = ((long) Float.floatToRawIntBits(probs[i]) << 32) | (0xFFFFFFFFL - i);
        }
        Arrays.sort(order, 0, n);
        int kept = params.topK() > 0 ? Math.min(params.topK(), n) : n;
        float top = probs[idAt(0, n)];
        if (params.minP() > 0f) {
            float floor = params.minP() * top;
            int k = 1;
            while (k < kept && probs[idAt(k, n)] >= floor) {
                k++;
            }
            kept = k;
        }
        double keptSum = 0;
        for (int k = 0; k < kept; k++) {
            keptSum += probs[idAt(k, n)];
        }
        if (params.topP() < 1f) {
            double target = params.topP() * keptSum;
            double cumulative = 0;
            int k = 0;
            while (k < kept) {
                cumulative += probs[idAt(k, n)];
                k++;
                if (cumulative >= target) {
                    break;
                }
            }
            kept = k;
            keptSum = cumulative;
        }
        return draw(kept, keptSum, true);
    }

    private int idAt(int rank, int n) {
        return (int) (0xFFFFFFFFL - (order[n - 1 - rank] & 0xFFFFFFFFL));
    }

    /** Draws among the first {@code count} candidates (in rank order if {@code ranked}, else by id). */
    private int draw(int count, double total, boolean ranked) {
        double r = random.nextDouble() * total;
        double cumulative = 0;
        int n = probs.length;
        int last = 0;
        for (int k = 0; k < count; k++) {
            int id = ranked ? idAt(k, n) : k;
            cumulative += probs[id];
            last = id;
            if (r < cumulative) {
                return id;
            }
        }
        return last;
    }
}
