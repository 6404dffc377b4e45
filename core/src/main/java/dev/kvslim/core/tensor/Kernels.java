package dev.kvslim.core.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised kernels over plain {@code float[]} activations. Every function names its shapes in its
 * parameters; none allocates.
 */
public final class Kernels {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> HALF = F.length() == 16 ? FloatVector.SPECIES_256 : F;

    private Kernels() {
    }

    /**
     * Sum of the lanes of {@code v} in a fixed order (16 lanes: the upper half folded onto the lower, then a
     * fixed tree; other widths: lane by lane). {@code reduceLanes(ADD)} sums in one order when interpreted and
     * another once the JIT compiles it, which would make results depend on warm-up; this does not.
     */
    public static float sum(FloatVector v) {
        if (v.length() == 16) {
            FloatVector h = v.add(v.reinterpretShape(HALF, 1).reinterpretShape(F, 0));
            return ((h.lane(0) + h.lane(4)) + (h.lane(2) + h.lane(6))) + ((h.lane(1) + h.lane(5)) + (h.lane(3) + h.lane(7)));
        }
        float s = 0f;
        for (int i = 0; i < v.length(); i++) {
            s += v.lane(i);
        }
        return s;
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

    /** Weight rows per block of {@link #gemmBlock}. */
    public static final int GEMM_ROWS = 8;

    /** Tokens rounded up to whole vectors. */
    public static int paddedTokens(int tokens) {
        return (tokens + F.length() - 1) / F.length() * F.length();
    }

    /** {@code xt[c*padded + t] = x[t*cols + c]}, with tokens past {@code tokens} zero. */
    public static void transpose(float[] x, int tokens, int cols, float[] xt, int padded) {
        for (int c = 0; c < cols; c++) {
            int row = c * padded;
            for (int t = 0; t < tokens; t++) {
                xt[row + t] = x[t * cols + c];
            }
            for (int t = tokens; t < padded; t++) {
                xt[row + t] = 0f;
            }
        }
    }

    /**
     * {@code out[t*outStride + row0 + r] = w[r*n .. r*n+n) . x[t]} for {@code r < rows} (at most
     * {@link #GEMM_ROWS}) and {@code t < tokens}, where {@code xt} is the batch transposed by {@link #transpose}.
     * Each step broadcasts one weight per row against a vector of tokens, so no horizontal sums are needed and
     * every output is the plain sequential sum over its {@code n} products. Eight rows by two token vectors keep
     * sixteen sums in registers. {@code lanesBuf} holds {@link #lanes()} floats of the caller's.
     */
    public static void gemmBlock(float[] w, int rows, int n, float[] xt, int padded, int tokens, float[] out,
                                 int row0, int outStride, float[] lanesBuf) {
        int lanes = F.length();
        int t = 0;
        if (rows == GEMM_ROWS) {
            for (; t + 2 * lanes <= padded; t += 2 * lanes) {
                gemm8x2(w, n, xt, padded, t, tokens, out, row0, outStride, lanesBuf);
            }
        }
        for (; t < padded; t += lanes) {
            for (int r = 0; r < rows; r++) {
                FloatVector acc = FloatVector.zero(F);
                int wr = r * n;
                for (int k = 0; k < n; k++) {
                    acc = FloatVector.fromArray(F, xt, k * padded + t).fma(FloatVector.broadcast(F, w[wr + k]), acc);
                }
                scatter(acc, lanesBuf, out, t, tokens, outStride, row0 + r);
            }
        }
    }

    private static void gemm8x2(float[] w, int n, float[] xt, int padded, int t, int tokens, float[] out, int row0,
                                int outStride, float[] lanesBuf) {
        int lanes = F.length();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
        for (int k = 0; k < n; k++) {
            int at = k * padded + t;
            FloatVector x0 = FloatVector.fromArray(F, xt, at);
            FloatVector x1 = FloatVector.fromArray(F, xt, at + lanes);
            FloatVector c = FloatVector.broadcast(F, w[k]);
            a0 = x0.fma(c, a0);
            b0 = x1.fma(c, b0);
            c = FloatVector.broadcast(F, w[n + k]);
            a1 = x0.fma(c, a1);
            b1 = x1.fma(c, b1);
            c = FloatVector.broadcast(F, w[2 * n + k]);
            a2 = x0.fma(c, a2);
            b2 = x1.fma(c, b2);
            c = FloatVector.broadcast(F, w[3 * n + k]);
            a3 = x0.fma(c, a3);
            b3 = x1.fma(c, b3);
            c = FloatVector.broadcast(F, w[4 * n + k]);
            a4 = x0.fma(c, a4);
            b4 = x1.fma(c, b4);
            c = FloatVector.broadcast(F, w[5 * n + k]);
            a5 = x0.fma(c, a5);
            b5 = x1.fma(c, b5);
            c = FloatVector.broadcast(F, w[6 * n + k]);
            a6 = x0.fma(c, a6);
            b6 = x1.fma(c, b6);
            c = FloatVector.broadcast(F, w[7 * n + k]);
            a7 = x0.fma(c, a7);
            b7 = x1.fma(c, b7);
        }
        int u = t + lanes;
        scatter(a0, lanesBuf, out, t, tokens, outStride, row0);
        scatter(b0, lanesBuf, out, u, tokens, outStride, row0);
        scatter(a1, lanesBuf, out, t, tokens, outStride, row0 + 1);
        scatter(b1, lanesBuf, out, u, tokens, outStride, row0 + 1);
        scatter(a2, lanesBuf, out, t, tokens, outStride, row0 + 2);
        scatter(b2, lanesBuf, out, u, tokens, outStride, row0 + 2);
        scatter(a3, lanesBuf, out, t, tokens, outStride, row0 + 3);
        scatter(b3, lanesBuf, out, u, tokens, outStride, row0 + 3);
        scatter(a4, lanesBuf, out, t, tokens, outStride, row0 + 4);
        scatter(b4, lanesBuf, out, u, tokens, outStride, row0 + 4);
        scatter(a5, lanesBuf, out, t, tokens, outStride, row0 + 5);
        scatter(b5, lanesBuf, out, u, tokens, outStride, row0 + 5);
        scatter(a6, lanesBuf, out, t, tokens, outStride, row0 + 6);
        scatter(b6, lanesBuf, out, u, tokens, outStride, row0 + 6);
        scatter(a7, lanesBuf, out, t, tokens, outStride, row0 + 7);
        scatter(b7, lanesBuf, out, u, tokens, outStride, row0 + 7);
    }

    /** Writes lane i of {@code v} (token t + i) to {@code out[(t+i)*stride + index]}, for real tokens only. */
    private static void scatter(FloatVector v, float[] lanes, float[] out, int t, int tokens, int stride, int index) {
        v.intoArray(lanes, 0);
        int n = Math.min(F.length(), tokens - t);
        for (int i = 0; i < n; i++) {
            out[(t + i) * stride + index] = lanes[i];
        }
    }

    /**
     * Attention scores of one query against a tile of {@link #lanes()} keys stored channel-major
     * ({@code k[kOff + c*stride + j]} = channel c of key j): {@code out[outOff + j] = scale * q . key j}.
     */
    public static void scoreTile(float[] q, int qOff, int channels, float[] k, int kOff, int stride, float scale,
                                 float[] out, int outOff) {
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
            FloatVector.fromArray(F, x, xOff + i).mul(scale).mul(FloatVector.fromArray(F, weight, i))
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
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) {
            x[off + i] *= inv;
        }
    }

    /** {@code y[yOff..] += a * x[xOff..]} over {@code n} values. */
    public static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, xOff + i).fma(FloatVector.broadcast(F, a), FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
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
            FloatVector.fromArray(F, x, xOff + i).add(FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += x[xOff + i];
        }
    }

    /** SwiGLU: {@code gate[i] = silu(gate[i]) * up[i]}, with silu(x) = x * sigmoid(x). */
    public static void swiglu(float[] gate, int gOff, float[] up, int uOff, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[gOff + i];
            gate[gOff + i] = g / (1f + (float) Math.exp(-g)) * up[uOff + i];
        }
    }
}
