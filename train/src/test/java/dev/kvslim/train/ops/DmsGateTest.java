package dev.kvslim.train.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.train.dms.DmsNoise;
import dev.kvslim.train.random.Rng;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The DMS training gate: the mask layout by hand and against the engine's visibility rule, spec tests T6
 * (soft bias weights), T7 (gating math), T8 (noise), and finite differences of the soft bias path and the
 * straight-through hinge path.
 */
class DmsGateTest {

    private static final float M = DmsGate.MASKED;

    /** Bias entry (query q, key k) of one (b, h) block. */
    private static float at(DmsGate g, int bh, int q, int k) {
        return g.bias[(bh * g.t + q) * g.t + k];
    }

    @Test
    void handLayoutT5W1() {
        // one row, one head, T = 5, w = 1, tau = 1, no noise: zh = z
        float[] z = {0.3f, -1f, 2f, 0.5f, -3f};
        DmsGate g = new DmsGate(1, 5, 1, 1, 1f);
        g.forward(z, null);
        float s1 = -DmsGate.softplus(-1f), s2 = -DmsGate.softplus(2f), s3 = -DmsGate.softplus(0.5f);
        // key k beyond the window (q - k > 1) takes -softplus(z_{k+1}); inside it 0; after the query masked
        float[][] expected = {
            {0, M, M, M, M},
            {0, 0, M, M, M},
            {s1, 0, 0, M, M},
            {s1, s2, 0, 0, M},
            {s1, s2, s3, 0, 0},
        };
        for (int q = 0; q < 5; q++) {
            for (int k = 0; k < 5; k++) {
                assertThat(at(g, 0, q, k)).as("q=%d k=%d", q, k).isEqualTo(expected[q][k], within(1e-6f));
            }
        }
        assertThat(g.alpha).containsExactly(1f, 0f, 1f, 1f, 0f);
        assertThat(g.closed(0)).isEqualTo(3.0); // position 0 counts too (P11)
    }

    /** Confident decisions: the soft bias is the engine's hard rule "q sees k iff q-k <= w or d_{k+1} = 0". */
    @Test
    void confidentDecisionsGiveTheEngineVisibilityRule() {
        int t = 12, w = 2, heads = 2, b = 2;
        Random rnd = new Random(3);
        float[] z = new float[b * t * heads];
        for (int i = 0; i < z.length; i++) {
            z[i] = rnd.nextBoolean() ? 3f : -3f;
        }
        DmsGate g = new DmsGate(b, t, heads, w, 0.01f); // |zh| = 300
        g.forward(z, null);
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < heads; h++) {
                for (int q = 0; q < t; q++) {
                    for (int k = 0; k <= q; k++) {
                        boolean flag = k + 1 < t && z[(bi * t + k + 1) * heads + h] > 0; // flag(k) = d_{k+1}
                        boolean visible = q - k <= w || !flag;
                        float bias = at(g, bi * heads + h, q, k);
                        if (visible) {
                            assertThat(bias).as("b%d h%d q%d k%d", bi, h, q, k).isGreaterThan(-1e-6f);
                        } else {
                            assertThat(bias).as("b%d h%d q%d k%d", bi, h, q, k).isLessThan(-100f);
                        }
                    }
                }
            }
        }
        // the spec's T1 table (w = 2, d = [1,1,0,1,0,0]): visible key sets per query
        float[] d = {5, 5, -5, 5, -5, -5};
        DmsGate t1 = new DmsGate(1, 6, 1, 2, 0.01f);
        t1.forward(d, null);
        int[][] sets = {{0}, {0, 1}, {0, 1, 2}, {1, 2, 3}, {1, 2, 3, 4}, {1, 3, 4, 5}};
        for (int q = 0; q < 6; q++) {
            java.util.Set<Integer> seen = new java.util.TreeSet<>();
            for (int k = 0; k <= q; k++) {
                if (at(t1, 0, q, k) > -1f) {
                    seen.add(k);
                }
            }
            assertThat(seen)
                    .as("q=%d", q)
                    .containsExactly(java.util.Arrays.stream(sets[q]).boxed().toArray(Integer[]::new));
        }
    }

    @Test
    void t6SoftBiasWeights() {
        // w = 1, T = 3, scores 0; zh_1 = 0 gives query 2 weights [0.2, 0.4, 0.4]
        DmsGate g = new DmsGate(1, 3, 1, 1, 1f);
        g.forward(new float[] {7f, 0f, -2f}, null);
        assertThat(at(g, 0, 2, 0)).isEqualTo((float) -Math.log(2), within(1e-6f));
        assertThat(at(g, 0, 1, 0)).isEqualTo(0f);
        assertThat(softmaxRow(g, 2)).containsExactly(new double[] {0.2, 0.4, 0.4}, within(1e-6));
        g.forward(new float[] {0f, 10f, 0f}, null);
        double[] p = softmaxRow(g, 2);
        assertThat(p[0]).isCloseTo(2.27e-5, within(1e-7));
        assertThat(p[1]).isCloseTo(0.49999, within(1e-5));
    }

    private static double[] softmaxRow(DmsGate g, int q) {
        double[] e = new double[q + 1];
        double sum = 0;
        for (int k = 0; k <= q; k++) {
            e[k] = Math.exp(at(g, 0, q, k));
            sum += e[k];
        }
        for (int k = 0; k <= q; k++) {
            e[k] /= sum;
        }
        return e;
    }

    @Test
    void t7GatingMath() {
        DmsGate g = new DmsGate(1, 2, 1, 0, 0.1f);
        g.forward(new float[] {0.02f, 0f}, null);
        assertThat(g.zHat[0]).isEqualTo(0.2f, within(1e-6f));
        assertThat(g.p[0]).isEqualTo(0.549834f, within(1e-6f));
        assertThat(g.alpha[0]).isEqualTo(1f);
        assertThat(g.alpha[1]).as("z = 0 is no eviction (strict >)").isEqualTo(0f);
        float[] dz = new float[2];
        g.backwardHard(new double[] {1.0}, dz);
        assertThat(dz[0]).isEqualTo(2.47517f, within(1e-5f));
        // init: z = -5 with noise evicts with probability sigmoid(-5) = 0.0066929
        int n = 1_000_000, closed = 0;
        Rng rng = new Rng(5);
        for (int i = 0; i < n; i++) {
            if ((-5f + DmsNoise.logistic(rng)) / 0.1f > 0) {
                closed++;
            }
        }
        assertThat(closed / (double) n).isCloseTo(0.0067, within(0.0003));
    }

    @Test
    void t8NoiseIsLogisticAndSeeded() {
        Rng rng = new Rng(DmsNoise.seed(42, 0, 0));
        int n = 1_000_000;
        double sum = 0, sq = 0;
        int above = 0;
        for (int i = 0; i < n; i++) {
            double g = DmsNoise.logistic(rng);
            sum += g;
            sq += g * g;
            above += g > 5 ? 1 : 0;
        }
        double mean = sum / n;
        assertThat(mean).isCloseTo(0, within(0.01));
        assertThat(sq / n - mean * mean).isCloseTo(Math.PI * Math.PI / 3, within(0.03));
        assertThat(above / (double) n).isCloseTo(0.00669, within(0.0003));
        float[][] a = new float[2][30], b = new float[2][30];
        DmsNoise.fill(a, 3, 5, 2, DmsNoise.seed(7, 12, 1));
        DmsNoise.fill(b, 3, 5, 2, DmsNoise.seed(7, 12, 1));
        assertThat(b).isDeepEqualTo(a);
        assertThat(DmsNoise.seed(7, 12, 1))
                .isNotEqualTo(DmsNoise.seed(7, 12, 0))
                .isNotEqualTo(DmsNoise.seed(7, 13, 1))
                .isNotEqualTo(DmsNoise.seed(8, 12, 1));
    }

    /** Double reference of the bias entries that attention reads (k <= q). */
    private static double[] referenceBias(double[] z, double[] noise, int b, int t, int heads, int w, double tau) {
        double[] out = new double[b * heads * t * t];
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < heads; h++) {
                for (int q = 0; q < t; q++) {
                    for (int k = 0; k <= q; k++) {
                        if (q - k > w) {
                            int at = (bi * t + k + 1) * heads + h;
                            double zh = (z[at] + noise[at]) / tau;
                            out[((bi * heads + h) * t + q) * t + k] = Math.log(1 - 1 / (1 + Math.exp(-zh)));
                        }
                    }
                }
            }
        }
        return out;
    }

    @Test
    void softBiasPathMatchesFiniteDifferences() {
        int b = 2, t = 9, heads = 2, w = 2;
        float tau = 0.5f;
        Random rnd = new Random(11);
        float[] z = GradCheck.random(rnd, b * t * heads, 1.0);
        float[] noise = GradCheck.random(rnd, b * t * heads, 0.5);
        float[] upstream = GradCheck.random(rnd, b * heads * t * t, 1.0);
        for (int i = 0; i < upstream.length; i++) {
            int q = i / t % t, k = i % t;
            if (k > q) {
                upstream[i] = 0f; // attention produces no gradient for masked entries
            }
        }
        DmsGate g = new DmsGate(b, t, heads, w, tau);
        float[] bias = g.forward(z, noise);
        double[] zd = GradCheck.toDouble(z), nd = GradCheck.toDouble(noise);
        double[] ref = referenceBias(zd, nd, b, t, heads, w, tau);
        float[] visible = new float[bias.length];
        for (int i = 0; i < bias.length; i++) {
            int q = i / t % t, k = i % t;
            visible[i] = k <= q ? bias[i] : 0f;
        }
        GradCheck.assertClose("bias", visible, ref, 1e-5);
        float[] dz = new float[z.length];
        g.backwardBias(upstream, dz);
        GradCheck.check(
                "d bias / dz",
                new double[][] {zd, nd},
                0,
                in -> referenceBias(in[0], in[1], b, t, heads, w, tau),
                upstream,
                dz,
                1e-4);
        // position 0's logit never enters the bias
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < heads; h++) {
                assertThat(dz[(bi * t) * heads + h]).isEqualTo(0f);
            }
        }
    }

    @Test
    void hingePathIsStraightThroughPerRow() {
        int b = 2, t = 4, heads = 1;
        float tau = 0.1f;
        float[] z = {0.01f, -0.02f, 0.05f, 0f, 0.3f, -0.1f, 0.02f, 0.04f};
        DmsGate g = new DmsGate(b, t, heads, 1, tau);
        g.forward(z, null);
        float[] dz = new float[z.length];
        g.backwardHard(new double[] {-0.5, 0.0}, dz);
        for (int i = 0; i < z.length; i++) {
            double p = 1 / (1 + Math.exp(-z[i] / tau));
            double expected = i < t ? -0.5 * p * (1 - p) / tau : 0;
            assertThat((double) dz[i]).as("i=%d", i).isCloseTo(expected, within(1e-6));
        }
    }
}
