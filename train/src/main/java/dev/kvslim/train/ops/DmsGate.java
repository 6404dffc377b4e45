package dev.kvslim.train.ops;

import dev.kvslim.core.tensor.Parallel;

/**
 * The DMS training gate of one layer (spec 3.2 and 3.3): from decision logits {@code z} and logistic noise
 * {@code g}, the tempered noisy logit {@code zh = (z + g) / tau}, the probability {@code p = sigmoid(zh)}, the
 * straight-through hard decision {@code alpha = [zh > 0]} (that is {@code p > 0.5}; forward value 0/1, gradient
 * that of {@code p}) and the attention bias for every (query q, key k) pair of every (batch row, KV head):
 * <ul>
 *   <li>{@code k > q}: {@link #MASKED} (causal; the attention kernel never reads it),</li>
 *   <li>{@code q - k <= w}: 0 (inside the window),</li>
 *   <li>{@code q - k > w}: {@code log(1 - p_{k+1}) = -softplus(zh_{k+1})} (the shift rule: the decision of token
 *       {@code k+1} is about token {@code k}).</li>
 * </ul>
 * So a token whose {@code k+1} decision is a confident 1 stays visible to queries {@code k..k+w} and is (softly)
 * hidden from query {@code k+w+1} on, which is the engine's hard rule "q sees k iff q-k <= w or flag(k) = 0" with
 * {@code flag(k) = d_{k+1}} in the limit of confident decisions. The last token's shifted logit would be padding;
 * no query is ever more than {@code w} after it, so it is never needed.
 * <p>Backward: the bias path {@code d/dz_{k+1} = -p_{k+1}/tau * sum_q dbias[q, k]} (over {@code q > k + w}), and
 * the hinge path {@code d alpha / dz = p (1 - p) / tau} (straight-through). Both add into {@code dz}.
 * <p>Layouts: {@code z, g, dz}: {@code [B*T, KVH]} (row {@code b*T + t}, as the model hands them out);
 * {@code bias, dbias}: {@code [B, KVH, T, T]}, query-major.
 */
public final class DmsGate {

    /** Bias of the causally masked (query before key) entries; never read by {@link Attention}. */
    public static final float MASKED = -50000f;

    public final int b, t, kvHeads, window;
    public final float tau;
    /** Tempered noisy logits {@code (z + g) / tau}, {@code [B*T, KVH]}. */
    public final float[] zHat;
    /** {@code sigmoid(zHat)}. */
    public final float[] p;
    /** Hard decisions {@code [zHat > 0]} as 0/1. */
    public final float[] alpha;
    /** {@code [B, KVH, T, T]}. */
    public final float[] bias;

    public DmsGate(int b, int t, int kvHeads, int window, float tau) {
        if (b <= 0 || t <= 0 || kvHeads <= 0) {
            throw new IllegalArgumentException("DMS gate needs B, T, KVH > 0, got " + b + ", " + t + ", " + kvHeads);
        }
        if (window < 0) {
            throw new IllegalArgumentException("DMS window must be >= 0, got " + window);
        }
        if (!(tau > 0) || !Float.isFinite(tau)) {
            throw new IllegalArgumentException("DMS temperature must be > 0, got " + tau);
        }
        this.b = b;
        this.t = t;
        this.kvHeads = kvHeads;
        this.window = window;
        this.tau = tau;
        int n = b * t * kvHeads;
        zHat = new float[n];
        p = new float[n];
        alpha = new float[n];
        bias = new float[Math.multiplyExact(Math.multiplyExact(b * kvHeads, t), t)];
    }

    /** Computes decisions and the bias from logits {@code z} and noise {@code g} (null: no noise); returns the bias. */
    public float[] forward(float[] z, float[] g) {
        int n = b * t * kvHeads;
        if (z.length != n || g != null && g.length != n) {
            throw new IllegalArgumentException("DMS gate expects " + n + " logits (and noise values), got " + z.length
                    + (g == null ? "" : " and " + g.length));
        }
        float inv = 1f / tau;
        for (int i = 0; i < n; i++) {
            float zh = (z[i] + (g == null ? 0f : g[i])) * inv;
            zHat[i] = zh;
            p[i] = sigmoid(zh);
            alpha[i] = zh > 0f ? 1f : 0f;
        }
        int w = window;
        Parallel.forRange(b * kvHeads, 1, (worker, start, end) -> {
            float[] shifted = new float[t];
            for (int item = start; item < end; item++) {
                int bi = item / kvHeads, h = item % kvHeads;
                for (int k = 0; k + 1 < t; k++) {
                    shifted[k] = -softplus(zHat[(bi * t + k + 1) * kvHeads + h]);
                }
                int base = item * t * t;
                for (int q = 0; q < t; q++) {
                    int row = base + q * t;
                    int far = q - w; // keys k < far are more than w before q
                    for (int k = 0; k < far; k++) {
                        bias[row + k] = shifted[k];
                    }
                    java.util.Arrays.fill(bias, row + Math.max(0, far), row + q + 1, 0f);
                    java.util.Arrays.fill(bias, row + q + 1, row + t, MASKED);
                }
            }
        });
        return bias;
    }

    /** Adds the gradient of the bias path, {@code dbias -> dz}. */
    public void backwardBias(float[] dbias, float[] dz) {
        int w = window;
        float inv = 1f / tau;
        Parallel.forRange(b * kvHeads, 1, (worker, start, end) -> {
            double[] column = new double[t];
            for (int item = start; item < end; item++) {
                int bi = item / kvHeads, h = item % kvHeads;
                java.util.Arrays.fill(column, 0);
                int base = item * t * t;
                for (int q = w + 1; q < t; q++) {
                    int row = base + q * t;
                    for (int k = 0, far = q - w; k < far; k++) {
                        column[k] += dbias[row + k];
                    }
                }
                for (int k = 0; k + 1 < t; k++) {
                    int at = (bi * t + k + 1) * kvHeads + h;
                    dz[at] += (float) (-p[at] * inv * column[k]);
                }
            }
        });
    }

    /**
     * Adds the straight-through gradient of a loss on the hard decisions whose derivative with respect to every
     * {@code alpha} of batch row {@code b} is {@code dAlpha[b]}: {@code dz += dAlpha[b] * p (1 - p) / tau}.
     */
    public void backwardHard(double[] dAlpha, float[] dz) {
        float inv = 1f / tau;
        for (int bi = 0; bi < b; bi++) {
            if (dAlpha[bi] == 0) {
                continue;
            }
            for (int i = bi * t * kvHeads, end = (bi + 1) * t * kvHeads; i < end; i++) {
                dz[i] += (float) (dAlpha[bi] * p[i] * (1 - p[i]) * inv);
            }
        }
    }

    /** Sum of the hard decisions of batch row {@code bi} over its KV heads and all T positions. */
    public double closed(int bi) {
        double s = 0;
        for (int i = bi * t * kvHeads, end = (bi + 1) * t * kvHeads; i < end; i++) {
            s += alpha[i];
        }
        return s;
    }

    /** {@code log(1 + e^x)}, stable for any x. */
    public static float softplus(float x) {
        return (float) (Math.max(x, 0.0) + StrictMath.log1p(StrictMath.exp(-Math.abs((double) x))));
    }

    public static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + StrictMath.exp(-(double) x)));
    }
}
