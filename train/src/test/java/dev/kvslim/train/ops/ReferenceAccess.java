package dev.kvslim.train.ops;

import dev.kvslim.core.model.RopeStyle;

/** The double-precision reference ops, for the whole-model reference in another package. */
public final class ReferenceAccess {

    private ReferenceAccess() {}

    public static double[] matmul(double[] inp, double[] w, double[] bias, int n, int c, int oc) {
        return Reference.matmul(inp, w, bias, n, c, oc);
    }

    public static double[] rmsnorm(double[] x, double[] w, int n, int c, double eps) {
        return Reference.rmsnorm(x, w, n, c, eps);
    }

    public static double[] rope(double[] x, int n, int t, int heads, int hs, RopeStyle style, float[] freq) {
        return Reference.rope(x, n, t, heads, hs, style, freq);
    }

    public static double[] attention(
            double[] q, double[] k, double[] v, double[] bias, int b, int t, int heads, int kvHeads, int hs) {
        return Reference.attention(q, k, v, bias, b, t, heads, kvHeads, hs);
    }

    public static double[] swiglu(double[] gate, double[] up) {
        return Reference.swiglu(gate, up);
    }
}
