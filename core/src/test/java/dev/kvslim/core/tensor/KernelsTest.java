package dev.kvslim.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.model.Rope;
import dev.kvslim.core.model.RopeStyle;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The activation kernels against double-precision loops and hand-worked values. */
class KernelsTest {

    private static float[] random(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return v;
    }

    @Test
    void rmsnormMatchesDoublePrecision() {
        for (int n : new int[] {1, 7, 16, 64, 172, 768}) {
            float[] x = random(n + 3, n), w = random(n, n + 1), out = new float[n + 2];
            Kernels.rmsnorm(out, 2, x, 3, w, n, 1e-5f);
            double ss = 0;
            for (int i = 0; i < n; i++) {
                ss += (double) x[3 + i] * x[3 + i];
            }
            double scale = 1 / Math.sqrt(ss / n + 1e-5);
            for (int i = 0; i < n; i++) {
                assertThat(out[2 + i]).isCloseTo((float) (w[i] * x[3 + i] * scale), within(1e-5f));
            }
        }
    }

    @Test
    void softmaxIsStableAndNormalised() {
        float[] x = {1000f, 1001f, 1002f, -1e30f};
        Kernels.softmax(x, 0, 4);
        double e = Math.exp(1);
        double z = 1 + e + e * e;
        assertThat(x)
                .containsExactly(
                        new float[] {(float) (1 / z), (float) (e / z), (float) (e * e / z), 0f}, within(1e-6f));
        for (int n : new int[] {1, 15, 16, 33, 512}) {
            float[] v = random(n, n);
            double[] expected = new double[n];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (float f : v) {
                max = Math.max(max, f);
            }
            for (int i = 0; i < n; i++) {
                expected[i] = Math.exp(v[i] - max);
                sum += expected[i];
            }
            Kernels.softmax(v, 0, n);
            for (int i = 0; i < n; i++) {
                assertThat((double) v[i]).isCloseTo(expected[i] / sum, within(1e-6));
            }
        }
    }

    @Test
    void swigluIsSiluOfGateTimesUp() {
        float[] gate = {0f, 1f, -2f, 10f}, up = {3f, 2f, 1f, 0.5f};
        Kernels.swiglu(gate, 0, up, 0, 4);
        assertThat(gate)
                .containsExactly(
                        new float[] {
                            0f,
                            (float) (2 / (1 + Math.exp(-1))),
                            (float) (-2 / (1 + Math.exp(2))),
                            (float) (0.5 * 10 / (1 + Math.exp(-10)))
                        },
                        within(1e-6f));
    }

    @Test
    void dotAxpyAndSumsMatchDoublePrecision() {
        for (int n : new int[] {1, 8, 16, 17, 100, 768}) {
            float[] a = random(n + 1, n), b = random(n + 2, 2L * n);
            double expected = 0;
            for (int i = 0; i < n; i++) {
                expected += (double) a[1 + i] * b[2 + i];
            }
            assertThat((double) Kernels.dot(a, 1, b, 2, n)).isCloseTo(expected, within(1e-4 * Math.sqrt(n)));
            float[] y = b.clone();
            Kernels.axpy(0.5f, a, 1, y, 2, n);
            for (int i = 0; i < n; i++) {
                assertThat(y[2 + i]).isCloseTo(b[2 + i] + 0.5f * a[1 + i], within(1e-6f));
            }
        }
    }

    @Test
    void ropePairsChannelsByStyle() {
        // one head of 4 channels, two pairs; pair 0 turns by 90 degrees, pair 1 by 180
        float[] cos = {0f, -1f}, sin = {1f, 0f};
        float[] v = {1f, 2f, 3f, 4f};
        Rope.rotate(v, 0, 1, 4, RopeStyle.INTERLEAVED, cos, sin, 0);
        // pairs (0,1) and (2,3): (1,2) -> (-2,1); (3,4) -> (-3,-4)
        assertThat(v).containsExactly(-2f, 1f, -3f, -4f);
        float[] h = {1f, 2f, 3f, 4f};
        Rope.rotate(h, 0, 1, 4, RopeStyle.HALF, cos, sin, 0);
        // pairs (0,2) and (1,3): (1,3) -> (-3,1); (2,4) -> (-2,-4)
        assertThat(h).containsExactly(-3f, -2f, 1f, -4f);
    }

    /**
     * The four-tile score kernel and the register-held weighted sum are the one-tile kernel and zero-then-axpy, bit
     * for bit (the attention goldens rest on that order), at head sizes below, at and between whole vectors.
     */
    @Test
    void blockedAttentionKernelsKeepTheOneAtATimeOrder() {
        int lanes = Kernels.lanes();
        for (int channels : new int[] {3, 8, 64, 72, 128}) {
            for (int tiles : new int[] {1, 4, 7}) {
                int stride = lanes, tileStride = channels * lanes + 5;
                float[] q = random(channels + 1, channels), k = random(tiles * tileStride + 3, tiles);
                float[] blocked = new float[tiles * lanes + 2], single = new float[tiles * lanes + 2];
                Kernels.scoreTiles(q, 1, channels, k, 3, tileStride, tiles, stride, 0.125f, blocked, 2);
                for (int t = 0; t < tiles; t++) {
                    Kernels.scoreTile(q, 1, channels, k, 3 + t * tileStride, stride, 0.125f, single, 2 + t * lanes);
                }
                assertThat(blocked)
                        .as("scores, %d channels, %d tiles", channels, tiles)
                        .containsExactly(single);
            }
            int positions = 37, vStride = channels + 4;
            float[] w = random(positions, 3), v = random(positions * vStride + 2, channels + 7);
            float[] held = random(channels + 1, 1), axpy = new float[channels + 1];
            held[0] = axpy[0] = 42f;
            Kernels.weightedSum(w, 5, 30, v, 2, vStride, held, 1, channels);
            for (int p = 5; p < 30; p++) {
                Kernels.axpy(w[p], v, 2 + p * vStride, axpy, 1, channels);
            }
            assertThat(held).as("weighted sum, %d channels", channels).containsExactly(axpy);
        }
    }

    /** The two-query kernels are two one-query kernels, bit for bit, at head sizes below, at and between 4 vectors. */
    @Test
    void twoQueryAttentionKernelsAreTwoOneQueryKernels() {
        int lanes = Kernels.lanes();
        for (int channels : new int[] {3, 8, 64, 72, 128}) {
            for (int tiles : new int[] {1, 4, 6}) {
                int tileStride = channels * lanes + 5;
                float[] q = random(2 * channels + 9, channels), k = random(tiles * tileStride + 3, tiles);
                int outs = tiles * lanes + 7;
                float[] pair = new float[2 * outs], single = new float[2 * outs];
                Kernels.scoreTiles2(
                        q, 1, channels + 8, channels, k, 3, tileStride, tiles, lanes, 0.125f, pair, 2, outs);
                Kernels.scoreTiles(q, 1, channels, k, 3, tileStride, tiles, lanes, 0.125f, single, 2);
                Kernels.scoreTiles(q, channels + 8, channels, k, 3, tileStride, tiles, lanes, 0.125f, single, outs);
                assertThat(pair)
                        .as("scores, %d channels, %d tiles", channels, tiles)
                        .containsExactly(single);
            }
            int positions = 41, vStride = channels + 4, second = 50;
            float[] w = random(second + positions, 3), v = random(positions * vStride + 2, channels + 7);
            float[] pair = new float[2 * channels + 3], single = new float[2 * channels + 3];
            Kernels.weightedSum2(w, 0, second, 5, 33, v, 2, vStride, pair, 1, channels + 2, channels);
            Kernels.weightedSum(w, 5, 33, v, 2, vStride, single, 1, channels);
            float[] shifted = java.util.Arrays.copyOfRange(w, second, second + positions);
            Kernels.weightedSum(shifted, 5, 33, v, 2, vStride, single, channels + 2, channels);
            assertThat(pair).as("weighted sums, %d channels", channels).containsExactly(single);
        }
    }
}
