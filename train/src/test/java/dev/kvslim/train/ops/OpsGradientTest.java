package dev.kvslim.train.ops;

import static dev.kvslim.train.ops.GradCheck.assertClose;
import static dev.kvslim.train.ops.GradCheck.check;
import static dev.kvslim.train.ops.GradCheck.random;
import static dev.kvslim.train.ops.GradCheck.toDouble;

import dev.kvslim.core.model.RopeStyle;
import dev.kvslim.core.tensor.FastExp;
import dev.kvslim.core.tensor.Gemm;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every op's F32 forward against its double reference, and its F32 backward against central finite differences
 * of the double reference, on tiny shapes chosen to hit every kernel path (full 8-row blocks, masked column
 * tails, single rows).
 */
class OpsGradientTest {

    private static final double TOL = 2e-4;

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void matmul(boolean withBias) {
        Random rnd = new Random(1);
        int n = 11, c = 37, oc = 45;
        float[] inp = random(rnd, n * c, 1), w = random(rnd, oc * c, 0.3), bias = withBias ? random(rnd, oc, 1) : null;
        float[] out = new float[n * oc];
        Matmul.forward(out, inp, w, bias, n, c, oc, new float[c * oc]);
        double[][] in = {toDouble(inp), toDouble(w), withBias ? toDouble(bias) : null};
        java.util.function.Function<double[][], double[]> f = x -> Reference.matmul(x[0], x[1], x[2], n, c, oc);
        assertClose("matmul forward", out, f.apply(in), 1e-5);
        float[] dout = random(rnd, n * oc, 1);
        float[] dinp = new float[n * c], dw = new float[oc * c], db = withBias ? new float[oc] : null;
        Matmul.backward(dinp, dw, db, dout, inp, w, n, c, oc);
        check("matmul dinp", in, 0, f, dout, dinp, TOL);
        check("matmul dweight", in, 1, f, dout, dw, TOL);
        if (withBias) {
            check("matmul dbias", in, 2, f, dout, db, TOL);
        }
    }

    @Test
    void gemmBlocksOverLargeShapes() {
        Random rnd = new Random(2);
        int m = 70, n = 50, k = 300;
        float[] a = random(rnd, m * k, 1), b = random(rnd, k * n, 1), c = random(rnd, m * n, 1);
        float[] acc = c.clone();
        Gemm.parallel(m, n, k, a, 0, k, 1, b, 0, n, acc, 0, n, true);
        double[] expected = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = c[i * n + j];
                for (int x = 0; x < k; x++) {
                    s += (double) a[i * k + x] * b[x * n + j];
                }
                expected[i * n + j] = s;
            }
        }
        assertClose("gemm", acc, expected, 1e-5);
    }

    @Test
    void rmsnorm() {
        Random rnd = new Random(3);
        int n = 5, c = 19;
        float eps = 1e-5f;
        float[] x = random(rnd, n * c, 1), w = random(rnd, c, 1);
        float[] out = new float[n * c], rstd = new float[n];
        RmsNorm.forward(out, rstd, x, w, n, c, eps);
        double[][] in = {toDouble(x), toDouble(w)};
        java.util.function.Function<double[][], double[]> f = a -> Reference.rmsnorm(a[0], a[1], n, c, eps);
        assertClose("rmsnorm forward", out, f.apply(in), 1e-5);
        float[] dout = random(rnd, n * c, 1), dx = new float[n * c], dw = new float[c];
        RmsNorm.backward(dx, dw, dout, x, w, rstd, n, c);
        check("rmsnorm dx", in, 0, f, dout, dx, TOL);
        check("rmsnorm dweight", in, 1, f, dout, dw, TOL);
    }

    @ParameterizedTest
    @EnumSource(RopeStyle.class)
    void rope(RopeStyle style) {
        Random rnd = new Random(4);
        int t = 5, n = 2 * t, heads = 3, hs = 6;
        float[] freq = {1f, 0.3f, 0.01f};
        float[] cos = new float[t * 3], sin = new float[t * 3];
        Rope.angles(freq, t, cos, sin);
        float[] x = random(rnd, n * heads * hs, 1);
        float[] y = x.clone();
        Rope.forward(y, n, t, heads, hs, style, cos, sin);
        double[][] in = {toDouble(x)};
        java.util.function.Function<double[][], double[]> f = a -> Reference.rope(a[0], n, t, heads, hs, style, freq);
        assertClose("rope forward", y, f.apply(in), 1e-6);
        float[] dout = random(rnd, y.length, 1);
        float[] dx = dout.clone();
        Rope.backward(dx, n, t, heads, hs, style, cos, sin);
        check("rope dx", in, 0, f, dout, dx, TOL);
    }

    /**
     * With a bias; the last case runs over {@link Attention#QUERY_BLOCK} positions: queries in blocks, the last one
     * partial.
     */
    @ParameterizedTest
    @CsvSource({"2, 5, 4, 2, 6", "2, 19, 4, 2, 6", "1, 70, 2, 1, 4"})
    void attentionWithBias(int b, int t, int heads, int kvHeads, int hs) {
        Random rnd = new Random(5 + t);
        int qDim = heads * hs, kvDim = kvHeads * hs;
        float[] q = random(rnd, b * t * qDim, 1), k = random(rnd, b * t * kvDim, 1), v = random(rnd, b * t * kvDim, 1);
        float[] bias = random(rnd, b * kvHeads * t * t, 1);
        float[] out = new float[q.length], lse = new float[b * heads * t];
        Attention.Scratch s = new Attention.Scratch(t, hs);
        Attention.forward(out, lse, q, k, v, bias, b, t, heads, kvHeads, hs, s);
        double[][] in = {toDouble(q), toDouble(k), toDouble(v), toDouble(bias)};
        java.util.function.Function<double[][], double[]> f =
                a -> Reference.attention(a[0], a[1], a[2], a[3], b, t, heads, kvHeads, hs);
        assertClose("attention forward", out, f.apply(in), 1e-5);
        float[] dout = random(rnd, out.length, 1);
        float[] dq = new float[q.length],
                dk = new float[k.length],
                dv = new float[v.length],
                db = new float[bias.length];
        Attention.backward(dq, dk, dv, db, dout, out, lse, q, k, v, bias, b, t, heads, kvHeads, hs, s);
        check("attention dq", in, 0, f, dout, dq, TOL);
        check("attention dk", in, 1, f, dout, dk, TOL);
        check("attention dv", in, 2, f, dout, dv, TOL);
        check("attention dbias", in, 3, f, dout, db, TOL);
    }

    @Test
    void attentionWithoutBias() {
        Random rnd = new Random(6);
        int b = 1, t = 9, heads = 2, kvHeads = 1, hs = 4;
        float[] q = random(rnd, t * heads * hs, 1), k = random(rnd, t * hs, 1), v = random(rnd, t * hs, 1);
        float[] out = new float[q.length], lse = new float[heads * t];
        Attention.Scratch s = new Attention.Scratch(t, hs);
        Attention.forward(out, lse, q, k, v, null, b, t, heads, kvHeads, hs, s);
        double[][] in = {toDouble(q), toDouble(k), toDouble(v)};
        java.util.function.Function<double[][], double[]> f =
                a -> Reference.attention(a[0], a[1], a[2], null, b, t, heads, kvHeads, hs);
        assertClose("attention forward", out, f.apply(in), 1e-5);
        float[] dout = random(rnd, out.length, 1);
        float[] dq = new float[q.length], dk = new float[k.length], dv = new float[v.length];
        Attention.backward(dq, dk, dv, null, dout, out, lse, q, k, v, null, b, t, heads, kvHeads, hs, s);
        check("attention dq", in, 0, f, dout, dq, TOL);
        check("attention dk", in, 1, f, dout, dk, TOL);
        check("attention dv", in, 2, f, dout, dv, TOL);
    }

    @Test
    void swiglu() {
        Random rnd = new Random(7);
        int n = 37;
        float[] g = random(rnd, n, 2), u = random(rnd, n, 1), out = new float[n];
        SwiGlu.forward(out, g, u, n);
        double[][] in = {toDouble(g), toDouble(u)};
        java.util.function.Function<double[][], double[]> f = a -> Reference.swiglu(a[0], a[1]);
        assertClose("swiglu forward", out, f.apply(in), 1e-6);
        float[] dout = random(rnd, n, 1), dg = new float[n], du = new float[n];
        SwiGlu.backward(dg, du, dout, g, u, n);
        check("swiglu dgate", in, 0, f, dout, dg, TOL);
        check("swiglu dup", in, 1, f, dout, du, TOL);
    }

    @Test
    void crossEntropyWithMask() {
        Random rnd = new Random(8);
        int n = 6, v = 23;
        float[] logits = random(rnd, n * v, 2);
        int[] targets = {3, 0, 22, 7, 7, 11};
        float[] mask = {1, 1, 0, 1, 1, 1};
        float[] losses = new float[n], dl = new float[n * v];
        CrossEntropy.forwardBackward(losses, dl, logits, targets, mask, n, v, 1f);
        double[][] in = {toDouble(logits)};
        java.util.function.Function<double[][], double[]> f = a -> Reference.crossEntropy(a[0], targets, mask, n, v);
        assertClose("cross-entropy", losses, f.apply(in), 1e-6);
        check("cross-entropy dlogits", in, 0, f, null, dl, TOL);
    }

    @Test
    void crossEntropyWithFractionalWeights() {
        Random rnd = new Random(18);
        int n = 6, v = 19;
        float[] logits = random(rnd, n * v, 2);
        int[] targets = {1, 18, 4, 0, 9, 9};
        float[] weights = {1, 0.25f, 0, 1, 0.5f, 1};
        float[] losses = new float[n], dl = new float[n * v];
        CrossEntropy.forwardBackward(losses, dl, logits, targets, weights, n, v, 1f);
        double[][] in = {toDouble(logits)};
        // per-row losses stay unweighted; the gradient is that of the weighted sum
        assertClose("cross-entropy", losses, Reference.crossEntropy(in[0], targets, weights, n, v), 1e-6);
        java.util.function.Function<double[][], double[]> weighted = a -> {
            double[] l = Reference.crossEntropy(a[0], targets, weights, n, v);
            for (int r = 0; r < n; r++) {
                l[r] *= weights[r];
            }
            return l;
        };
        check("weighted cross-entropy dlogits", in, 0, weighted, null, dl, TOL);
    }

    @Test
    void klDivergenceStudentGradientOnly() {
        Random rnd = new Random(9);
        int n = 4, v = 17;
        float[] s = random(rnd, n * v, 2), t = random(rnd, n * v, 2);
        float[] mask = {1, 0, 0.25f, 1};
        float[] losses = new float[n], ds = new float[n * v];
        KlDivergence.forwardBackward(losses, ds, s, t, mask, n, v, 1f);
        double[][] in = {toDouble(s), toDouble(t)};
        java.util.function.Function<double[][], double[]> f = a -> Reference.kl(a[0], a[1], mask, n, v);
        // per-row divergences stay unweighted; the gradient is that of the weighted sum
        assertClose("KL", losses, f.apply(in), 1e-6);
        java.util.function.Function<double[][], double[]> weighted = a -> {
            double[] l = Reference.kl(a[0], a[1], mask, n, v);
            for (int r = 0; r < n; r++) {
                l[r] *= mask[r];
            }
            return l;
        };
        check("weighted KL dstudent", in, 0, weighted, null, ds, TOL);
    }

    @Test
    void klDirectionMatchesSpecExample() {
        // spec T11: p_s = [0.5, 0.5], p_t = [0.9, 0.1]: KL(s||t) = 0.510826 (the other direction would be 0.368064)
        float[] s = {0f, 0f}, t = {(float) Math.log(0.9), (float) Math.log(0.1)};
        float[] losses = new float[1], ds = new float[2];
        KlDivergence.forwardBackward(losses, ds, s, t, null, 1, 2, 1f);
        org.assertj.core.api.Assertions.assertThat((double) losses[0])
                .isCloseTo(0.510826, org.assertj.core.api.Assertions.within(1e-6));
    }

    @Test
    void embedding() {
        Random rnd = new Random(10);
        int vocab = 7, c = 5;
        int[] tokens = {3, 1, 3, 6};
        float[] table = random(rnd, vocab * c, 1), out = new float[tokens.length * c];
        Embedding.forward(out, tokens, table, tokens.length, c);
        double[][] in = {toDouble(table)};
        java.util.function.Function<double[][], double[]> f = a -> {
            double[] y = new double[tokens.length * c];
            for (int r = 0; r < tokens.length; r++) {
                System.arraycopy(a[0], tokens[r] * c, y, r * c, c);
            }
            return y;
        };
        assertClose("embedding", out, f.apply(in), 0);
        float[] dout = random(rnd, out.length, 1), dt = new float[table.length];
        Embedding.backward(dt, dout, tokens, tokens.length, c);
        check("embedding dtable", in, 0, f, dout, dt, TOL);
    }

    @Test
    void fastExpMatchesExp() {
        for (float x = -86f; x < 88f; x += 0.0137f) {
            double e = Math.exp(x);
            org.assertj.core.api.Assertions.assertThat(Math.abs(FastExp.exp(x) - e) / e)
                    .as("exp(%s)", x)
                    .isLessThan(3e-7);
        }
        org.assertj.core.api.Assertions.assertThat(FastExp.exp(-100f)).isZero();
        float[] xs = new float[100];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = -5 + i * 0.1f;
        }
        float[] v = xs.clone();
        FastExp.expShiftSum(v, 0, v.length, 0f);
        for (int i = 0; i < xs.length; i++) {
            org.assertj.core.api.Assertions.assertThat(v[i])
                    .as("vector lane equals scalar")
                    .isEqualTo(FastExp.exp(xs[i]));
        }
    }
}
