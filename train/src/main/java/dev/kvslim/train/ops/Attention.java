package dev.kvslim.train.ops;

import dev.kvslim.core.tensor.FastExp;
import dev.kvslim.core.tensor.Gemm;
import dev.kvslim.core.tensor.Kernels;
import dev.kvslim.core.tensor.Parallel;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal grouped-query attention with an optional additive bias per (batch, KV head, query, key), and its
 * backward, including the gradient of the bias (DMS training biases the scores by {@code log(1 - p)} of learned
 * eviction probabilities, spec 3.2, and needs that gradient).
 * <p>Shapes: {@code q, out: [B*T, H*hs]}, {@code k, v: [B*T, KVH*hs]}, {@code bias, dbias: [B, KVH, T, T]},
 * {@code lse: [B, H, T]} (each row's log-sum-exp, kept so the backward recomputes the probabilities instead of
 * storing them). Scores are {@code q.k / sqrt(hs) + bias}; key k is visible to query t iff {@code k <= t}.
 * <p>The forward splits (batch, query head) pairs between threads; the backward splits (batch, KV head) pairs,
 * so the query heads of one group, which share keys, values and bias, add into them in a fixed order on one
 * thread. Queries go {@value #QUERY_BLOCK} at a time: a thread holds the scores of those rows only (and their
 * gradients), filled a causal block of {@link Gemm#MR} rows at a time by {@link Gemm#block}, and is done with them
 * before the next rows: at T = 4096 a whole {@code T x T} matrix was 64 MB per thread, streamed from memory several
 * times per head, where a block of rows stays in the core's cache. The keys' and values' gradients take the block's
 * products in turn, each sum still one sequential sum over the queries in order, so every result is bit for bit
 * what the whole matrix gave.
 */
public final class Attention {

    /** Per-thread working memory for sequences of up to {@code T} positions. */
    public static final class Scratch {
        final int t, headSize;
        final float[][] p, dp, kt, vt;

        public Scratch(int t, int headSize) {
            this.t = t;
            this.headSize = headSize;
            int n = Parallel.threads();
            p = new float[n][Math.min(t, QUERY_BLOCK) * t];
            dp = new float[n][Math.min(t, QUERY_BLOCK) * t];
            kt = new float[n][headSize * t];
            vt = new float[n][headSize * t];
        }
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    /** Queries whose scores a thread holds at once: a multiple of {@link Gemm#MR}. */
    static final int QUERY_BLOCK = 4 * Gemm.MR;

    private Attention() {}

    public static void forward(
            float[] out,
            float[] lse,
            float[] q,
            float[] k,
            float[] v,
            float[] bias,
            int b,
            int t,
            int heads,
            int kvHeads,
            int hs,
            Scratch s) {
        check(s, t, hs);
        int group = heads / kvHeads, qDim = heads * hs, kvDim = kvHeads * hs;
        float scale = (float) (1.0 / Math.sqrt(hs));
        Parallel.forRange(b * heads, 1, (w, start, end) -> {
            float[] p = s.p[w], kt = s.kt[w];
            for (int item = start; item < end; item++) {
                int bi = item / heads, h = item % heads, kvh = h / group;
                transposeHead(k, bi * t, t, kvDim, kvh * hs, hs, kt);
                int qOff = bi * t * qDim + h * hs;
                int biasOff = bias == null ? -1 : (bi * kvHeads + kvh) * t * t;
                int vOff = bi * t * kvDim + kvh * hs;
                for (int i0 = 0; i0 < t; i0 += QUERY_BLOCK) {
                    int i1 = Math.min(t, i0 + QUERY_BLOCK);
                    scores(p, i0, i1, q, qOff, qDim, kt, t, hs);
                    for (int i = i0; i < i1; i++) {
                        int row = (i - i0) * t;
                        addScaledBias(p, row, i + 1, scale, bias, biasOff + i * t);
                        float max = max(p, row, i + 1);
                        float sum = FastExp.expShiftSum(p, row, i + 1, max);
                        lse[(bi * heads + h) * t + i] = max + (float) StrictMath.log(sum);
                        float inv = 1f / sum;
                        scale(p, row, i + 1, inv);
                        Arrays.fill(p, row + i + 1, row + blockEnd(i, t), 0f);
                    }
                    for (int r0 = i0; r0 < i1; r0 += Gemm.MR) {
                        int rows = Math.min(Gemm.MR, t - r0);
                        Gemm.block(
                                rows,
                                hs,
                                0,
                                blockEnd(r0, t),
                                p,
                                (r0 - i0) * t,
                                t,
                                1,
                                v,
                                vOff,
                                kvDim,
                                out,
                                qOff + r0 * qDim,
                                qDim,
                                false);
                    }
                }
            }
        });
    }

    /**
     * Backward: writes {@code dq} (overwritten), adds into {@code dk}, {@code dv} and (when not null)
     * {@code dbias}. {@code out} and {@code lse} are the forward's.
     */
    public static void backward(
            float[] dq,
            float[] dk,
            float[] dv,
            float[] dbias,
            float[] dout,
            float[] out,
            float[] lse,
            float[] q,
            float[] k,
            float[] v,
            float[] bias,
            int b,
            int t,
            int heads,
            int kvHeads,
            int hs,
            Scratch s) {
        check(s, t, hs);
        int group = heads / kvHeads, qDim = heads * hs, kvDim = kvHeads * hs;
        float scale = (float) (1.0 / Math.sqrt(hs));
        Parallel.forRange(b * kvHeads, 1, (w, start, end) -> {
            float[] p = s.p[w], dp = s.dp[w], kt = s.kt[w], vt = s.vt[w];
            for (int item = start; item < end; item++) {
                int bi = item / kvHeads, kvh = item % kvHeads;
                int kvOff = bi * t * kvDim + kvh * hs;
                int biasOff = (bi * kvHeads + kvh) * t * t;
                transposeHead(k, bi * t, t, kvDim, kvh * hs, hs, kt);
                transposeHead(v, bi * t, t, kvDim, kvh * hs, hs, vt);
                for (int g = 0; g < group; g++) {
                    int h = kvh * group + g;
                    int qOff = bi * t * qDim + h * hs;
                    for (int i0 = 0; i0 < t; i0 += QUERY_BLOCK) {
                        int i1 = Math.min(t, i0 + QUERY_BLOCK);
                        scores(p, i0, i1, q, qOff, qDim, kt, t, hs);
                        scores(dp, i0, i1, dout, qOff, qDim, vt, t, hs);
                        for (int i = i0; i < i1; i++) {
                            int row = (i - i0) * t;
                            addScaledBias(p, row, i + 1, scale, bias, bias == null ? -1 : biasOff + i * t);
                            float rowLse = lse[(bi * heads + h) * t + i];
                            float d = Kernels.dot(dout, qOff + i * qDim, out, qOff + i * qDim, hs);
                            scoreGradients(p, dp, row, i + 1, rowLse, d, scale, dbias, biasOff + i * t);
                            int stop = row + blockEnd(i, t);
                            Arrays.fill(p, row + i + 1, stop, 0f);
                            Arrays.fill(dp, row + i + 1, stop, 0f);
                        }
                        // dq = dS . K, for these queries
                        for (int r0 = i0; r0 < i1; r0 += Gemm.MR) {
                            Gemm.block(
                                    Math.min(Gemm.MR, t - r0),
                                    hs,
                                    0,
                                    blockEnd(r0, t),
                                    dp,
                                    (r0 - i0) * t,
                                    t,
                                    1,
                                    k,
                                    kvOff,
                                    kvDim,
                                    dq,
                                    qOff + r0 * qDim,
                                    qDim,
                                    false);
                        }
                        // dk += dS^T . Q and dv += P^T . dO over these queries, for every key they see: each key's
                        // sums go on from the earlier blocks' in query order (A(key, query) is row query - i0 of
                        // the block, hence the offset below its start)
                        for (int k0 = 0; k0 < blockEnd(i1 - 1, t); k0 += Gemm.MR) {
                            int rows = Math.min(Gemm.MR, t - k0), from = Math.max(i0, k0);
                            int aOff = k0 - i0 * t;
                            Gemm.block(
                                    rows,
                                    hs,
                                    from,
                                    i1,
                                    dp,
                                    aOff,
                                    1,
                                    t,
                                    q,
                                    qOff,
                                    qDim,
                                    dk,
                                    kvOff + k0 * kvDim,
                                    kvDim,
                                    true);
                            Gemm.block(
                                    rows,
                                    hs,
                                    from,
                                    i1,
                                    p,
                                    aOff,
                                    1,
                                    t,
                                    dout,
                                    qOff,
                                    qDim,
                                    dv,
                                    kvOff + k0 * kvDim,
                                    kvDim,
                                    true);
                        }
                    }
                }
            }
        });
    }

    /**
     * {@code p[i - i0, j] = q_i . k_j} for queries {@code i0 <= i < i1}, over the causal blocks of rows (keys up to
     * each block's last row, rounded up to whole pairs of vectors: a last single vector of columns goes through
     * the GEMM's masked kernel, which ran several times slower; the extra columns are never read).
     */
    private static void scores(float[] p, int i0, int i1, float[] q, int qOff, int qDim, float[] kt, int t, int hs) {
        for (int r0 = i0; r0 < i1; r0 += Gemm.MR) {
            int rows = Math.min(Gemm.MR, i1 - r0);
            int keys = Math.min(t, (blockEnd(r0, t) + 2 * L - 1) / (2 * L) * 2 * L);
            Gemm.block(rows, keys, 0, hs, q, qOff + r0 * qDim, qDim, 1, kt, 0, t, p, (r0 - i0) * t, t, false);
        }
    }

    private static void addScaledBias(float[] p, int row, int n, float scale, float[] bias, int biasRow) {
        if (bias == null) {
            scale(p, row, n, scale);
            return;
        }
        int j = 0;
        for (; j + L <= n; j += L) {
            FloatVector.fromArray(F, p, row + j)
                    .mul(scale)
                    .add(FloatVector.fromArray(F, bias, biasRow + j))
                    .intoArray(p, row + j);
        }
        for (; j < n; j++) {
            p[row + j] = p[row + j] * scale + bias[biasRow + j];
        }
    }

    private static void scale(float[] p, int off, int n, float s) {
        int j = 0;
        for (; j + L <= n; j += L) {
            FloatVector.fromArray(F, p, off + j).mul(s).intoArray(p, off + j);
        }
        for (; j < n; j++) {
            p[off + j] *= s;
        }
    }

    private static float max(float[] p, int off, int n) {
        int j = 0;
        float max = Float.NEGATIVE_INFINITY;
        if (n >= L) {
            FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; j + L <= n; j += L) {
                m = m.max(FloatVector.fromArray(F, p, off + j));
            }
            max = m.reduceLanes(VectorOperators.MAX); // exact in any order
        }
        for (; j < n; j++) {
            max = Math.max(max, p[off + j]);
        }
        return max;
    }

    /**
     * One row of the backward: scores {@code s} in {@code p} become probabilities {@code exp(s - lse)}; the score
     * gradient {@code P * (dP - d)} goes into {@code dbias} (when not null) and, times {@code scale}, into {@code dp}.
     */
    private static void scoreGradients(
            float[] p, float[] dp, int row, int n, float lse, float d, float scale, float[] dbias, int biasRow) {
        int j = 0;
        for (; j + L <= n; j += L) {
            FloatVector prob = FastExp.exp(FloatVector.fromArray(F, p, row + j).sub(lse));
            prob.intoArray(p, row + j);
            FloatVector ds = prob.mul(FloatVector.fromArray(F, dp, row + j).sub(d));
            if (dbias != null) {
                ds.add(FloatVector.fromArray(F, dbias, biasRow + j)).intoArray(dbias, biasRow + j);
            }
            ds.mul(scale).intoArray(dp, row + j);
        }
        for (; j < n; j++) {
            float prob = FastExp.exp(p[row + j] - lse);
            p[row + j] = prob;
            float ds = prob * (dp[row + j] - d);
            if (dbias != null) {
                dbias[biasRow + j] += ds;
            }
            dp[row + j] = ds * scale;
        }
    }

    /** One past the last key the causal block holding row {@code i} computes. */
    private static int blockEnd(int i, int t) {
        return Math.min(t, (i / Gemm.MR + 1) * Gemm.MR);
    }

    /** {@code kt[c*t + j] = x[(row0 + j)*stride + off + c]}: one head's rows, channel-major. */
    private static void transposeHead(float[] x, int row0, int t, int stride, int off, int hs, float[] kt) {
        for (int j = 0; j < t; j++) {
            int src = (row0 + j) * stride + off;
            for (int c = 0; c < hs; c++) {
                kt[c * t + j] = x[src + c];
            }
        }
    }

    private static void check(Scratch s, int t, int hs) {
        if (s.t != t || s.headSize != hs) {
            throw new IllegalArgumentException("attention scratch is for T=" + s.t + ", head size " + s.headSize
                    + "; called with T=" + t + ", head size " + hs);
        }
    }
}
