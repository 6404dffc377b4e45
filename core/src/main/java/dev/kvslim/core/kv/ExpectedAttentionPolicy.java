package dev.kvslim.core.kv;

import java.util.Arrays;

/**
 * Expected Attention (Devoto et al., "Expected Attention: KV Cache Compression by Estimating Attention from Future
 * Queries Distribution", arXiv 2510.00636; kvpress {@code ExpectedAttentionPress}): the attention queries yet to come
 * will pay a key, in closed form. The queries seen so far (but the first {@code sinks}, outliers) are taken back to
 * before RoPE and summed into a mean and a covariance per query head; the rotation of the next {@value #FUTURE}
 * positions, averaged, turns them into the statistics of a future query q ~ N(mu, Sigma). For q Gaussian,
 * E[exp(s q.k)] = exp(s mu.k + s^2 k'Sigma k / 2) (s the attention scale); a softmax of that over the head's keys,
 * averaged over the group's query heads and multiplied by the norm of the token's value, is the score. The first
 * {@code sinks} positions always stay. kvpress derives the statistics from the prompt's hidden states at the end of
 * prefill; here they grow with every batch, prefill or decode, and the rule runs after every batch that leaves the
 * head over its budget, like the other policies. Keeps group x headSize^2 doubles per (layer, KV head).
 */
final class ExpectedAttentionPolicy extends EvictionPolicy {

    /** Future positions whose rotations are averaged, as kvpress's {@code n_future_positions}. */
    static final int FUTURE = 512;

    private final int sinks;
    private long count;
    private double[] sum; // per query head of the group: the pre-RoPE queries summed
    private double[] outer; // per query head: their outer products summed, headSize x headSize
    private double[] scratch;

    ExpectedAttentionPolicy(KvBudget budget, int sinks) {
        super("expected-attention", budget);
        this.sinks = sinks;
    }

    @Override
    EvictionPolicy forHead(int layer, int kvHead) {
        return new ExpectedAttentionPolicy(budget(), sinks);
    }

    @Override
    int observedQueries(int batch) {
        return batch;
    }

    @Override
    void observe(HeadStore head, Observation batch) {
        int hs = head.headSize(), group = batch.group();
        if (sum == null) {
            sum = new double[group * hs];
            outer = new double[group * hs * hs];
            scratch = new double[group * hs + hs];
        }
        Rotary rotary = batch.rotary();
        int pairs = rotary.pairs();
        double[] cos = new double[pairs], sin = new double[pairs];
        for (int i = 0; i < batch.count(); i++) {
            int position = batch.position(i);
            if (position < sinks) {
                continue;
            }
            rotary.angles(-position, cos, sin);
            float[] q = batch.queries();
            int qOff = batch.queryOffset(i);
            for (int j = 0; j < group * hs; j++) {
                scratch[j] = q[qOff + j];
            }
            for (int g = 0; g < group; g++) {
                rotary.turn(scratch, g * hs, hs, cos, sin);
                int at = g * hs, o = g * hs * hs;
                for (int r = 0; r < hs; r++) {
                    double x = scratch[at + r];
                    sum[at + r] += x;
                    for (int c = 0; c < hs; c++) {
                        outer[o + r * hs + c] += x * scratch[at + c];
                    }
                }
            }
            count++;
        }
    }

    @Override
    void rank(HeadStore head, int keep, Observation batch, float[] rank) {
        int hs = head.headSize(), group = batch.group(), slots = head.slots();
        Rotary rotary = batch.rotary();
        double scale = batch.scale();
        // the rotation averaged over the next FUTURE positions: per pair, the mean of cos and sin of (next + j) theta
        int pairs = rotary.pairs();
        double[] cos = new double[pairs], sin = new double[pairs];
        int next = head.position(head.lastSlot()) + 1;
        for (int i = 0; i < pairs; i++) {
            double theta = rotary.frequency(i), half = theta / 2, damp = Math.sin(half);
            damp = damp == 0 ? 1 : Math.sin(FUTURE * half) / (FUTURE * damp);
            double middle = (next + (FUTURE - 1) / 2.0) * theta;
            cos[i] = Math.cos(middle) * damp;
            sin[i] = Math.sin(middle) * damp;
        }
        // each query head's future mean and covariance
        double[] mean = new double[group * hs], cov = new double[group * hs * hs];
        for (int g = 0; g < group && count > 0; g++) {
            int at = g * hs, o = g * hs * hs;
            for (int r = 0; r < hs; r++) {
                mean[at + r] = sum[at + r] / count;
            }
            for (int r = 0; r < hs; r++) {
                for (int c = 0; c < hs; c++) {
                    cov[o + r * hs + c] = outer[o + r * hs + c] / count - mean[at + r] * mean[at + c];
                }
            }
            rotary.turn(mean, at, hs, cos, sin);
            // R Sigma R': turn every row (Sigma R'), transpose, turn every row again; the result is symmetric
            for (int r = 0; r < hs; r++) {
                rotary.turn(cov, o + r * hs, hs, cos, sin);
            }
            for (int r = 0; r < hs; r++) {
                for (int c = r + 1; c < hs; c++) {
                    double t = cov[o + r * hs + c];
                    cov[o + r * hs + c] = cov[o + c * hs + r];
                    cov[o + c * hs + r] = t;
                }
            }
            for (int r = 0; r < hs; r++) {
                rotary.turn(cov, o + r * hs, hs, cos, sin);
            }
        }
        // per query head, log E[exp(s q.k)] of every scored key, then its softmax over the keys, averaged
        double[] logits = new double[group * slots];
        double[] key = new double[hs];
        double[] max = new double[group];
        Arrays.fill(max, Double.NEGATIVE_INFINITY);
        for (int s = 0; s < slots; s++) {
            if (head.position(s) < sinks) {
                continue;
            }
            for (int c = 0; c < hs; c++) {
                key[c] = head.key(s, c);
            }
            for (int g = 0; g < group; g++) {
                int at = g * hs, o = g * hs * hs;
                double linear = 0, quadratic = 0;
                for (int r = 0; r < hs; r++) {
                    linear += mean[at + r] * key[r];
                    double x = 0;
                    for (int c = 0; c < hs; c++) {
                        x += cov[o + r * hs + c] * key[c];
                    }
                    quadratic += key[r] * x;
                }
                double logit = scale * linear + scale * scale * quadratic / 2;
                logits[g * slots + s] = logit;
                max[g] = Math.max(max[g], logit);
            }
        }
        double[] total = new double[group];
        for (int s = 0; s < slots; s++) {
            if (head.position(s) >= sinks) {
                for (int g = 0; g < group; g++) {
                    total[g] += Math.exp(logits[g * slots + s] - max[g]);
                }
            }
        }
        for (int s = 0; s < slots; s++) {
            int p = head.position(s);
            if (p < 0) {
                rank[s] = 0;
            } else if (p < sinks) {
                rank[s] = Float.POSITIVE_INFINITY;
            } else {
                double weight = 0;
                for (int g = 0; g < group; g++) {
                    weight += Math.exp(logits[g * slots + s] - max[g]) / total[g];
                }
                double norm = 0;
                for (int c = 0; c < hs; c++) {
                    double v = head.value(s, c);
                    norm += v * v;
                }
                rank[s] = (float) (weight / group * Math.sqrt(norm));
            }
        }
    }
}
