package dev.kvslim.core.sample;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks token ids from logits under {@link SamplingParams}: a {@link LogitBias} first (added to the logits in place),
 * then temperature, top-k, min-p and top-p over the softmax, then a draw from what is left. Holds its scratch, so one
 * sampler serves one sequence at a time.
 */
public final class Sampler {

    private final SamplingParams params;
    private final SplittableRandom random;
    private final float[] probs;
    private final long[] order;
    private final LogitBias bias;

    public Sampler(SamplingParams params, int vocabSize) {
        this(params, vocabSize, LogitBias.NONE);
    }

    public Sampler(SamplingParams params, int vocabSize, LogitBias bias) {
        for (int id : bias.ids()) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException(
                        "a logit bias for token " + id + ", outside the vocabulary of " + vocabSize);
            }
        }
        this.bias = bias;
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
            throw new IllegalArgumentException(
                    "logits have " + logits.length + " entries, sampler expects " + probs.length);
        }
        bias.apply(logits);
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
        if (params.topK() == 0 && params.topP() == 1f && params.minP() == 0f) {
            return draw(n, sum, false);
        }
        // min-p keeps tokens at least minP times as likely as the top one (whose weight is exp(0) = 1)
        float floor = params.minP();
        int count = 0;
        double keptSum = 0;
        for (int i = 0; i < n; i++) {
            if (probs[i] >= floor) {
                order[count++] = key(i);
                keptSum += probs[i];
            }
        }
        if (params.topK() > 0 && count > params.topK()) {
            count = keepLargest(count, params.topK());
            keptSum = 0;
            for (int k = 0; k < count; k++) {
                keptSum += probs[id(order[k])];
            }
        } else if (params.topP() < 1f && count > 1) {
            // as llama2.c: tokens below (1 - p) / (count - 1) of the mass cannot be needed to reach p
            double cutoff = (1 - params.topP()) * keptSum / (count - 1);
            int kept = 0;
            for (int k = 0; k < count; k++) {
                if (probs[id(order[k])] >= cutoff) {
                    order[kept++] = order[k];
                }
            }
            count = kept;
        }
        Arrays.sort(order, 0, count);
        reverse(count);
        if (params.topP() < 1f) {
            double target = params.topP() * keptSum;
            double cumulative = 0;
            int k = 0;
            while (k < count) {
                cumulative += probs[id(order[k])];
                k++;
                if (cumulative >= target) {
                    break;
                }
            }
            count = k;
            keptSum = cumulative;
        }
        return draw(count, keptSum, true);
    }

    /** Sort key of token {@code id}: ascending keys order by probability, then by descending id. */
    private long key(int id) {
        return ((long) Float.floatToRawIntBits(probs[id]) << 32) | (0xFFFFFFFFL - id);
    }

    private static int id(long key) {
        return (int) (0xFFFFFFFFL - (key & 0xFFFFFFFFL));
    }

    /** Moves the {@code k} largest of the first {@code count} keys to the front (a min-heap of size k). */
    private int keepLargest(int count, int k) {
        for (int i = k / 2 - 1; i >= 0; i--) {
            siftDown(i, k);
        }
        for (int i = k; i < count; i++) {
            if (order[i] > order[0]) {
                order[0] = order[i];
                siftDown(0, k);
            }
        }
        return k;
    }

    private void siftDown(int i, int size) {
        long v = order[i];
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) {
                break;
            }
            if (c + 1 < size && order[c + 1] < order[c]) {
                c++;
            }
            if (order[c] >= v) {
                break;
            }
            order[i] = order[c];
            i = c;
        }
        order[i] = v;
    }

    private void reverse(int count) {
        for (int a = 0, b = count - 1; a < b; a++, b--) {
            long t = order[a];
            order[a] = order[b];
            order[b] = t;
        }
    }

    /** Draws among the first {@code count} candidates (the ranked keys if {@code ranked}, else ids). */
    private int draw(int count, double total, boolean ranked) {
        double r = random.nextDouble() * total;
        double cumulative = 0;
        int last = 0;
        for (int k = 0; k < count; k++) {
            int id = ranked ? id(order[k]) : k;
            cumulative += probs[id];
            last = id;
            if (r < cumulative) {
                return id;
            }
        }
        return last;
    }
}
