package dev.kvslim.core.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised kernels over plain {@code float[]} activations. Every function names its shapes in its
 * parameters; none allocates.
 */
public final class Kernels {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private Kernels() {}

    /**
     * Sum of the lanes of {@code v} in a fixed order (16 lanes: the upper half folded onto the lower, then a
     * fixed tree; other widths: lane by lane). {@code reduceLanes(ADD)} sums in one order when interpreted and
     * another once the JIT compiles it, which would make results depend on warm-up; this does not.
     */
    public static float sum(FloatVector v) {
        if (v.length() == 16) {
            // lanes i and i+8, then i and i+4, i+2, i+1: the tree above, in four shuffles and adds
            FloatVector h = v.add(v.rearrange(FOLD_8));
            h = h.add(h.rearrange(FOLD_4));
            h = h.add(h.rearrange(FOLD_2));
            return h.add(h.rearrange(FOLD_1)).lane(0);
        }
        float s = 0f;
        for (int i = 0; i < v.length(); i++) {
            s += v.lane(i);
        }
        return s;
    }

    private static final VectorShuffle<Float> FOLD_8 = fold(8), FOLD_4 = fold(4), FOLD_2 = fold(2), FOLD_1 = fold(1);

    /** Lane i takes lane {@code i + by} (for the lanes the sum reads; the others wrap around). */
    private static VectorShuffle<Float> fold(int by) {
        return VectorShuffle.fromOp(F, i -> (i + by) % F.length());
    }

    /** {@code a[aOff..aOff+n) . b[bOff..bOff+n)}. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        float sum = 0f;
        int bound = F.loopBound(n);
        if (bound > 0) {
            FloatVector acc = FloatVector.zero(F);
            for (; i < bound; i += F.length()) {
                acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
            }
            sum = sum(acc);
        }
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /**
     * Tokens rounded up to whole pairs of vectors: {@link Gemm}'s main kernel covers two vectors of columns, and
     * its masked one-vector tail kernel is one the JIT at times leaves uncompiled for seconds (so every vector
     * operation in it runs as slow Java code); padded batches never reach it.
     */
    public static int paddedTokens(int tokens) {
        int pair = 2 * F.length();
        return (tokens + pair - 1) / pair * pair;
    }

    /** {@code xt[c*padded + t] = x[t*cols + c]}, with tokens past {@code tokens} zero. */
    public static void transpose(float[] x, int tokens, int cols, float[] xt, int padded) {
        // 16 columns at a time: each token's 16 values are one contiguous read, written to 16 rows in step
        for (int c0 = 0; c0 < cols; c0 += 16) {
            int c1 = Math.min(cols, c0 + 16);
            for (int t = 0; t < tokens; t++) {
                int from = t * cols;
                for (int c = c0; c < c1; c++) {
                    xt[c * padded + t] = x[from + c];
                }
            }
        }
        for (int c = 0; c < cols; c++) {
            java.util.Arrays.fill(xt, c * padded + tokens, (c + 1) * padded, 0f);
        }
    }

    /**
     * Attention scores of one query against a tile of {@link #lanes()} keys stored channel-major
     * ({@code k[kOff + c*stride + j]} = channel c of key j): {@code out[outOff + j] = scale * q . key j}.
     */
    public static void scoreTile(
            float[] q, int qOff, int channels, float[] k, int kOff, int stride, float scale, float[] out, int outOff) {
        FloatVector acc = FloatVector.zero(F);
        for (int c = 0; c < channels; c++) {
            acc = FloatVector.fromArray(F, k, kOff + c * stride).fma(FloatVector.broadcast(F, q[qOff + c]), acc);
        }
        acc.mul(scale).intoArray(out, outOff);
    }

    /** RMSNorm: {@code out = x / sqrt(mean(x^2) + eps) * weight}, over {@code n} values. */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        float ss = dot(x, xOff, x, xOff, n);
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, xOff + i)
                    .mul(scale)
                    .mul(FloatVector.fromArray(F, weight, i))
                    .intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = weight[i] * (scale * x[xOff + i]);
        }
    }

    /** The preferred float species, which every kernel here uses. */
    public static VectorSpecies<Float> species() {
        return F;
    }

    /** Vector lanes of the preferred species. */
    public static int lanes() {
        return F.length();
    }

    /** In-place numerically stable softmax of {@code x[off..off+n)}. */
    public static void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        int i0 = 0;
        int bound = F.loopBound(n);
        if (bound > 0) {
            FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; i0 < bound; i0 += F.length()) {
                m = m.max(FloatVector.fromArray(F, x, off + i0));
            }
            max = m.reduceLanes(jdk.incubator.vector.VectorOperators.MAX);
        }
        for (int i = i0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        float sum = 0f;
        int i = 0;
        if (bound > 0) {
            FloatVector m = FloatVector.broadcast(F, max), total = FloatVector.zero(F);
            for (; i < bound; i += F.length()) {
                FloatVector e = exp(FloatVector.fromArray(F, x, off + i).sub(m));
                e.intoArray(x, off + i);
                total = total.add(e);
            }
            sum = sum(total);
        }
        for (; i < n; i++) {
            float e = exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (i = 0; i < n; i++) {
            x[off + i] *= inv;
        }
    }

    // e^x as Cephes' expf computes it: x = n ln2 + r, |r| <= ln2 / 2, e^r by a degree-7 polynomial, 2^n put in the
    // exponent bits. Within 2 ulp of the exact value; plain lane arithmetic and fused multiply-adds, so the same
    // bits whether the JIT has compiled it or not (the Vector API's own EXP differs between the two).
    private static final float EXP_MIN = -87.33654f, EXP_MAX = 88.72283f;
    private static final float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float ROUNDER = 12582912f; // 1.5 * 2^23: adding it rounds to an integer in the low bits
    private static final int ROUNDER_BITS = 0x4B400000;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /** e^x in each lane, as {@link #exp(float)}; inputs below -87.3 give about 1e-38, not 0. */
    static FloatVector exp(FloatVector v) {
        FloatVector x = v.max(EXP_MIN).min(EXP_MAX);
        FloatVector t = x.fma(FloatVector.broadcast(F, LOG2E), FloatVector.broadcast(F, ROUNDER));
        FloatVector n = t.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(F, P0), FloatVector.broadcast(F, P1));
        p = p.fma(r, FloatVector.broadcast(F, P2));
        p = p.fma(r, FloatVector.broadcast(F, P3));
        p = p.fma(r, FloatVector.broadcast(F, P4));
        p = p.fma(r, FloatVector.broadcast(F, P5));
        p = p.fma(r.mul(r), r).add(1f);
        IntVector scale = t.reinterpretAsInts().sub(ROUNDER_BITS).lanewise(VectorOperators.LSHL, 23);
        return p.reinterpretAsInts().add(scale).reinterpretAsFloats();
    }

    /** e^x, the same operations as the vector {@link #exp(FloatVector)} on one value. */
    static float exp(float v) {
        float x = Math.min(Math.max(v, EXP_MIN), EXP_MAX);
        float t = Math.fma(x, LOG2E, ROUNDER);
        float n = t - ROUNDER;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, P0, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        p = Math.fma(p, r * r, r) + 1f;
        int scale = (Float.floatToRawIntBits(t) - ROUNDER_BITS) << 23;
        return Float.intBitsToFloat(Float.floatToRawIntBits(p) + scale);
    }

    /** {@code y[yOff..] += a * x[xOff..]} over {@code n} values. */
    public static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, xOff + i)
                    .fma(FloatVector.broadcast(F, a), FloatVector.fromArray(F, y, yOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }

    /** {@code y[yOff..] += x[xOff..]}: the residual connection. */
    public static void add(float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, xOff + i)
                    .add(FloatVector.fromArray(F, y, yOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += x[xOff + i];
        }
    }

    /** SwiGLU: {@code gate[i] = silu(gate[i]) * up[i]}, with silu(x) = x * sigmoid(x). */
    public static void swiglu(float[] gate, int gOff, float[] up, int uOff, int n) {
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector g = FloatVector.fromArray(F, gate, gOff + i);
            g.div(exp(g.neg()).add(1f))
                    .mul(FloatVector.fromArray(F, up, uOff + i))
                    .intoArray(gate, gOff + i);
        }
        for (; i < n; i++) {
            float g = gate[gOff + i];
            gate[gOff + i] = g / (1f + exp(-g)) * up[uOff + i];
        }
    }
}
