package dev.kvslim.train.dms;

import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.train.model.AttentionBiasHook;
import dev.kvslim.train.ops.DmsGate;
import java.util.Arrays;

/**
 * The student's DMS attention: one {@link DmsGate} per layer turns that layer's decision logits (plus the
 * micro-batch's logistic noise) into the soft eviction bias, and the backward adds, besides the bias gradient,
 * the straight-through gradient of the compression hinge {@code mean_b max(0, target - frac_closed_b)}, where
 * {@code frac_closed_b} is the mean hard decision of row b over layers x KV heads x all T positions (spec 3.2/3.3,
 * P11). The paper's hinge is one-sided: the KL holds the ratio down, since every eviction it does not need costs it.
 * A KL that sees few positions (only the answers of a long row, {@code --prompt-weight 0}) hardly does, and the
 * ratio overshoots the target (8.3-9 for 8 on 4,096-token rows). With a {@code maxOvershoot} of M the hinge gets a
 * second side, {@code mean_b max(0, frac_closed_b - ceiling)} with {@code ceiling = 1 - 1 / (cr + M)} for the
 * target's ratio {@code cr}: a row that evicts more than that ratio allows is pushed back as hard as one under the
 * target is pushed up, and between the two the KL alone decides. On the 4K demo retrofit it did not help: at M = 0
 * the evicted set kept churning and the KL rose 5-30x; at M = 0.25 every task lost (docs/eval/README.md).
 * Call {@link #setNoise} (or {@link #clearNoise}) before the forward and {@link #setHinge} between the
 * forward and the backward.
 */
public final class DmsBiasHook implements AttentionBiasHook {

    /** What the hinge holds to the target: each row's evicted fraction over the whole model, or over each layer. */
    public enum Scope {
        /** The paper's: one fraction per row, over every layer and KV head. */
        MODEL,
        /** One fraction per row and layer. */
        LAYER;

        /** The name {@code --hinge-scope} takes. */
        public String optionName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Scope ofOptionName(String name) {
            for (Scope s : values()) {
                if (s.optionName().equals(name)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("--hinge-scope must be model or layer, got '" + name + "'");
        }
    }

    private final int layers, b, t, kvHeads;
    private final double maxOvershoot;
    private final Scope scope;
    private final DmsGate[] gates;
    private final float[][] noise;
    private boolean noisy;
    private final double[][] dAlpha;

    /** The paper's one-sided hinge. */
    public DmsBiasHook(LlamaConfig c, int b, int t, float tau) {
        this(c, b, t, tau, Double.POSITIVE_INFINITY, Scope.MODEL);
    }

    /**
     * @param maxOvershoot how far (in compression ratio) a row may evict beyond the target before the hinge pushes
     *     back: 0 for a two-sided hinge, infinity for the paper's one-sided one
     * @param scope whether the hinge holds each row's fraction over the model or over each layer to the target
     */
    public DmsBiasHook(LlamaConfig c, int b, int t, float tau, double maxOvershoot, Scope scope) {
        if (!(maxOvershoot >= 0)) {
            throw new IllegalArgumentException("the largest overshoot must be >= 0, got " + maxOvershoot);
        }
        if (c.dms() == null) {
            throw new IllegalArgumentException("the student model has no DMS configuration");
        }
        if (c.dms().perLayer()) {
            throw new IllegalArgumentException(
                    "training per-layer DMS decisions (dms_alpha_per = layer) is not supported");
        }
        this.layers = c.layers();
        this.b = b;
        this.t = t;
        this.kvHeads = c.kvHeads();
        this.maxOvershoot = maxOvershoot;
        this.scope = java.util.Objects.requireNonNull(scope, "scope");
        this.gates = new DmsGate[layers];
        this.noise = new float[layers][b * t * kvHeads];
        for (int l = 0; l < layers; l++) {
            gates[l] = new DmsGate(b, t, kvHeads, c.dms().window(), tau);
        }
        this.dAlpha = new double[layers][b];
    }

    /** Draws the noise of the next forward from {@code seed} ({@link DmsNoise}). */
    public void setNoise(long seed) {
        DmsNoise.fill(noise, b, t, kvHeads, seed);
        noisy = true;
    }

    /** The next forwards run without noise (deterministic decisions, as at inference). */
    public void clearNoise() {
        for (float[] n : noise) {
            Arrays.fill(n, 0f);
        }
        noisy = false;
    }

    public DmsGate gate(int layer) {
        return gates[layer];
    }

    @Override
    public float[] forward(int layer, float[] logits) {
        if (logits == null) {
            throw new IllegalStateException("the model produced no DMS decision logits");
        }
        return gates[layer].forward(logits, noisy ? noise[layer] : null);
    }

    /** Fraction of hard "evict" decisions of batch row {@code bi} in the latest forward. */
    public double fracClosed(int bi) {
        double s = 0;
        for (DmsGate g : gates) {
            s += g.closed(bi);
        }
        return s / ((double) layers * kvHeads * t);
    }

    /** Fraction of hard "evict" decisions of batch row {@code bi} in layer {@code layer} in the latest forward. */
    public double fracClosed(int bi, int layer) {
        return gates[layer].closed(bi) / ((double) kvHeads * t);
    }

    /** Mean over rows of {@link #fracClosed}. */
    public double meanFracClosed() {
        double s = 0;
        for (int bi = 0; bi < b; bi++) {
            s += fracClosed(bi);
        }
        return s / b;
    }

    /**
     * The evicted fraction above which a row is pushed back: that of the target's ratio plus the largest overshoot
     * (1, never, for the one-sided hinge).
     */
    double ceiling(double target) {
        return 1 - 1 / (1 / (1 - target) + maxOvershoot);
    }

    /**
     * The hinge {@code mean_b max(0, target - frac_closed_b) + max(0, frac_closed_b - ceiling)} of the latest forward
     * (the second term is 0 without a largest overshoot), or its mean over layers of the same on each layer's fraction
     * ({@link Scope#LAYER}).
     */
    public double hinge(double target) {
        double ceiling = ceiling(target);
        double s = 0;
        for (int bi = 0; bi < b; bi++) {
            if (scope == Scope.MODEL) {
                s += side(target, ceiling, fracClosed(bi));
            } else {
                for (int l = 0; l < layers; l++) {
                    s += side(target, ceiling, fracClosed(bi, l)) / layers;
                }
            }
        }
        return s / b;
    }

    private static double side(double target, double ceiling, double frac) {
        return Math.max(0, target - frac) + Math.max(0, frac - ceiling);
    }

    /**
     * The backward will add {@code scale} times the hinge's gradient (the rows, or row-layers, under the target push
     * their decisions up, {@code d hinge / d alpha = -1 / (B * L * KVH * T)} each; those over the {@link #ceiling}
     * push them down by as much). Weight 0 turns the hinge off.
     */
    public void setHinge(double target, double scale) {
        double per = -scale / ((double) b * layers * kvHeads * t);
        double ceiling = ceiling(target);
        for (int bi = 0; bi < b; bi++) {
            double row = fracClosed(bi);
            for (int l = 0; l < layers; l++) {
                double frac = scope == Scope.MODEL ? row : fracClosed(bi, l);
                dAlpha[l][bi] = target > frac ? per : frac > ceiling ? -per : 0;
            }
        }
    }

    @Override
    public void backward(int layer, float[] dbias, float[] dlogits) {
        if (dbias != null) {
            gates[layer].backwardBias(dbias, dlogits);
        }
        gates[layer].backwardHard(dAlpha[layer], dlogits);
    }
}
