package dev.kvslim.core.tensor;

import jdk.incubator.vector.FloatVector;
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

    /**
     * {@link #scoreTile} for {@code tiles} consecutive tiles, tile i's keys from {@code k[kOff + i * tileStride]} and
     * its scores to {@code out[outOff + i * lanes()]}: four tiles at a time in independent sums (one chain of
     * dependent multiply-adds per tile would wait on each other), each summed exactly as {@link #scoreTile} sums it.
     */
    public static void scoreTiles(
            float[] q,
            int qOff,
            int channels,
            float[] k,
            int kOff,
            int tileStride,
            int tiles,
            int stride,
            float scale,
            float[] out,
            int outOff) {
        int L = F.length();
        int i = 0;
        for (; i + 4 <= tiles; i += 4) {
            int k0 = kOff + i * tileStride, k1 = k0 + tileStride, k2 = k1 + tileStride, k3 = k2 + tileStride;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int c = 0; c < channels; c++) {
                FloatVector qc = FloatVector.broadcast(F, q[qOff + c]);
                int at = c * stride;
                a0 = FloatVector.fromArray(F, k, k0 + at).fma(qc, a0);
                a1 = FloatVector.fromArray(F, k, k1 + at).fma(qc, a1);
                a2 = FloatVector.fromArray(F, k, k2 + at).fma(qc, a2);
                a3 = FloatVector.fromArray(F, k, k3 + at).fma(qc, a3);
            }
            int o = outOff + i * L;
            a0.mul(scale).intoArray(out, o);
            a1.mul(scale).intoArray(out, o + L);
            a2.mul(scale).intoArray(out, o + 2 * L);
            a3.mul(scale).intoArray(out, o + 3 * L);
        }
        for (; i < tiles; i++) {
            scoreTile(q, qOff, channels, k, kOff + i * tileStride, stride, scale, out, outOff + i * L);
        }
    }

    /**
     * {@link #scoreTiles} for two queries at once ({@code q} at {@code qOff} and {@code qOff2}, scores to
     * {@code out} at {@code outOff} and {@code outOff2}): each key vector read feeds both, and each query's scores
     * are summed exactly as {@link #scoreTile} sums them.
     */
    public static void scoreTiles2(
            float[] q,
            int qOff,
            int qOff2,
            int channels,
            float[] k,
            int kOff,
            int tileStride,
            int tiles,
            int stride,
            float scale,
            float[] out,
            int outOff,
            int outOff2) {
        int L = F.length();
        int i = 0;
        for (; i + 4 <= tiles; i += 4) {
            int k0 = kOff + i * tileStride, k1 = k0 + tileStride, k2 = k1 + tileStride, k3 = k2 + tileStride;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int c = 0; c < channels; c++) {
                FloatVector qa = FloatVector.broadcast(F, q[qOff + c]);
                FloatVector qb = FloatVector.broadcast(F, q[qOff2 + c]);
                int at = c * stride;
                FloatVector x0 = FloatVector.fromArray(F, k, k0 + at), x1 = FloatVector.fromArray(F, k, k1 + at);
                FloatVector x2 = FloatVector.fromArray(F, k, k2 + at), x3 = FloatVector.fromArray(F, k, k3 + at);
                a0 = x0.fma(qa, a0);
                a1 = x1.fma(qa, a1);
                a2 = x2.fma(qa, a2);
                a3 = x3.fma(qa, a3);
                b0 = x0.fma(qb, b0);
                b1 = x1.fma(qb, b1);
                b2 = x2.fma(qb, b2);
                b3 = x3.fma(qb, b3);
            }
            int o = outOff + i * L, o2 = outOff2 + i * L;
            a0.mul(scale).intoArray(out, o);
            a1.mul(scale).intoArray(out, o + L);
            a2.mul(scale).intoArray(out, o + 2 * L);
            a3.mul(scale).intoArray(out, o + 3 * L);
            b0.mul(scale).intoArray(out, o2);
            b1.mul(scale).intoArray(out, o2 + L);
            b2.mul(scale).intoArray(out, o2 + 2 * L);
            b3.mul(scale).intoArray(out, o2 + 3 * L);
        }
        for (; i < tiles; i++) {
            scoreTile(q, qOff, channels, k, kOff + i * tileStride, stride, scale, out, outOff + i * L);
            scoreTile(q, qOff2, channels, k, kOff + i * tileStride, stride, scale, out, outOff2 + i * L);
        }
    }

    /**
     * {@link #weightedSum} for two weight rows over the same value rows ({@code w} at {@code wOff} and
     * {@code wOff2}, that is {@code w[wOff + p]}; outputs at {@code outOff} and {@code outOff2}): each value vector
     * read feeds both sums, each summed exactly as {@link #weightedSum} sums it.
     */
    public static void weightedSum2(
            float[] w,
            int wOff,
            int wOff2,
            int from,
            int to,
            float[] v,
            int vOff,
            int vStride,
            float[] out,
            int outOff,
            int outOff2,
            int n) {
        int L = F.length();
        int bound = F.loopBound(n);
        int c = 0;
        for (; c + 4 * L <= bound; c += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int p = from; p < to; p++) {
                FloatVector wa = FloatVector.broadcast(F, w[wOff + p]);
                FloatVector wb = FloatVector.broadcast(F, w[wOff2 + p]);
                int at = vOff + p * vStride + c;
                FloatVector x0 = FloatVector.fromArray(F, v, at), x1 = FloatVector.fromArray(F, v, at + L);
                FloatVector x2 = FloatVector.fromArray(F, v, at + 2 * L), x3 = FloatVector.fromArray(F, v, at + 3 * L);
                a0 = x0.fma(wa, a0);
                a1 = x1.fma(wa, a1);
                a2 = x2.fma(wa, a2);
                a3 = x3.fma(wa, a3);
                b0 = x0.fma(wb, b0);
                b1 = x1.fma(wb, b1);
                b2 = x2.fma(wb, b2);
                b3 = x3.fma(wb, b3);
            }
            a0.intoArray(out, outOff + c);
            a1.intoArray(out, outOff + c + L);
            a2.intoArray(out, outOff + c + 2 * L);
            a3.intoArray(out, outOff + c + 3 * L);
            b0.intoArray(out, outOff2 + c);
            b1.intoArray(out, outOff2 + c + L);
            b2.intoArray(out, outOff2 + c + 2 * L);
            b3.intoArray(out, outOff2 + c + 3 * L);
        }
        if (c < n) {
            // the columns past the last four vectors, one row at a time: weight index wOff + p reads value row p
            weightedSum(w, wOff + from, wOff + to, v, vOff - wOff * vStride + c, vStride, out, outOff + c, n - c);
            weightedSum(w, wOff2 + from, wOff2 + to, v, vOff - wOff2 * vStride + c, vStride, out, outOff2 + c, n - c);
        }
    }

    /**
     * {@code out[outOff + c] = sum over p in [from, to) of w[p] * v[vOff + p * vStride + c]} for c in [0, n): an
     * attention's weighted sum of value rows, the same operations in the same order as zeroing {@code out} and
     * calling {@link #axpy} once per p, with up to four vectors of {@code out} held in registers over all p.
     */
    public static void weightedSum(
            float[] w, int from, int to, float[] v, int vOff, int vStride, float[] out, int outOff, int n) {
        int L = F.length();
        int bound = F.loopBound(n);
        int c = 0;
        for (; c + 4 * L <= bound; c += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int p = from; p < to; p++) {
                FloatVector wp = FloatVector.broadcast(F, w[p]);
                int at = vOff + p * vStride + c;
                a0 = FloatVector.fromArray(F, v, at).fma(wp, a0);
                a1 = FloatVector.fromArray(F, v, at + L).fma(wp, a1);
                a2 = FloatVector.fromArray(F, v, at + 2 * L).fma(wp, a2);
                a3 = FloatVector.fromArray(F, v, at + 3 * L).fma(wp, a3);
            }
            a0.intoArray(out, outOff + c);
            a1.intoArray(out, outOff + c + L);
            a2.intoArray(out, outOff + c + 2 * L);
            a3.intoArray(out, outOff + c + 3 * L);
        }
        for (; c < bound; c += L) {
            FloatVector a = FloatVector.zero(F);
            for (int p = from; p < to; p++) {
                a = FloatVector.fromArray(F, v, vOff + p * vStride + c).fma(FloatVector.broadcast(F, w[p]), a);
            }
            a.intoArray(out, outOff + c);
        }
        for (; c < n; c++) {
            float sum = 0f;
            for (int p = from; p < to; p++) {
                sum += w[p] * v[vOff + p * vStride + c];
            }
            out[outOff + c] = sum;
        }
    }

    /** The largest of {@code x[off..off+n)} (negative infinity for none). */
    public static float max(float[] x, int off, int n) {
        int i = 0;
        int bound = F.loopBound(n);
        FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (; i < bound; i += F.length()) {
            acc = acc.max(FloatVector.fromArray(F, x, off + i));
        }
        float max = acc.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        return max;
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
        float sum = FastExp.expShiftSum(x, off, n, max);
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
            g.div(FastExp.exp(g.neg()).add(1f))
                    .mul(FloatVector.fromArray(F, up, uOff + i))
                    .intoArray(gate, gOff + i);
        }
        for (; i < n; i++) {
            float g = gate[gOff + i];
            gate[gOff + i] = g / (1f + FastExp.exp(-g)) * up[uOff + i];
        }
    }
}
