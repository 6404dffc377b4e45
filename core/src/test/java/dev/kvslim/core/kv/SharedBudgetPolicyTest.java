package dev.kvslim.core.kv;

import static dev.kvslim.core.kv.PolicyHarness.HS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.tensor.Kernels;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Expected Attention, AdaKV and DuoAttention on examples whose kept tokens are worked out by hand, or by a brute-force
 * computation written here independently of the policies (rotations as 2x2 matrices per pair summed one position at
 * a time, the cumulative attention summed explicitly).
 */
class SharedBudgetPolicyTest {

    private static final double SQRT8 = Math.sqrt(8);

    private static PagedKvCache cache(KvShape shape, EvictionPolicy policy) {
        return new PagedKvCache(
                shape, new BlockPool(HS, Kernels.lanes(), 1L << 24), 1024, new KvCacheSpec.Evicting(policy));
    }

    /**
     * Expected Attention by hand, no RoPE, no sinks: six queries alternate (sqrt 8, 4, 0..) and (sqrt 8, -4, 0..),
     * so the mean query is (sqrt 8, 0, ..) and the covariance diag(0, 16, 0, ..). With the 1/sqrt(8) scale the log of
     * the expected exp(q.k / sqrt 8) is k0 + k1^2: p0 (1, 0) 1, p1 (0, 1.2) 1.44, p2 (0, 0) 0, p3 (-1, 0) -1,
     * p4 (0.5, -0.5) 0.75. With unit values, keeping 3 leaves p1, p0 and the newest p5 (p1 stays only through the
     * covariance: the mean alone rates it as p2). Halving p0's value ranks it e^1 / 2 = 1.36 below p4's e^0.75 = 2.12.
     */
    @Test
    void expectedAttentionRanksByTheMeanAndTheCovarianceOfTheQueriesAndTheValueNorm() {
        LlamaConfig c = PolicyHarness.config(1, 1, 1);
        KvShape noRope = new KvShape(1, 1, 1, HS, 0, -1);
        float[] q = new float[6 * HS], k = new float[6 * HS], v = new float[6 * HS];
        float[][] keys = {{1, 0}, {0, 1.2f}, {0, 0}, {-1, 0}, {0.5f, -0.5f}, {0, 0}};
        for (int p = 0; p < 6; p++) {
            q[p * HS] = (float) SQRT8;
            q[p * HS + 1] = p % 2 == 0 ? 4 : -4;
            k[p * HS] = keys[p][0];
            k[p * HS + 1] = keys[p][1];
            v[p * HS + 2] = 1;
        }
        EvictionPolicy ea =
                KvPolicies.of("expected-attention", KvBudget.ofTokens(3), new KvPolicies.Options(0, 0, 32, 0));
        PagedKvCache cache = cache(noRope, ea);
        PolicyHarness.step(cache, c, 0, 6, q, k, v);
        assertThat(PolicyHarness.kept(cache, 0, 0)).containsExactly(0, 1, 5);

        v[2] = 0.5f;
        cache = cache(noRope, ea);
        PolicyHarness.step(cache, c, 0, 6, q, k, v);
        assertThat(PolicyHarness.kept(cache, 0, 0)).containsExactly(1, 4, 5);
    }

    /**
     * Expected Attention with the model's RoPE against a brute-force reading of its definition: random pre-RoPE
     * queries and keys (rotated by position for the cache), the future rotation averaged over positions 40 .. 551 one
     * matrix at a time, the expected logits, softmax and value norms in double; the 4 sinks, the newest token and
     * the 5 best-ranked of the others stay.
     */
    @Test
    void expectedAttentionAveragesTheRotationOfTheNextPositions() {
        LlamaConfig c = PolicyHarness.config(1, 1, 2);
        int tokens = 40, group = 2, sinks = 4, keep = 10;
        SplittableRandom rnd = new SplittableRandom(7);
        double[][] qPre = new double[tokens * group][], kPre = new double[tokens][];
        float[] q = new float[tokens * group * HS], k = new float[tokens * HS], v = new float[tokens * HS];
        for (int p = 0; p < tokens; p++) {
            kPre[p] = gaussian(rnd, HS, 1);
            write(k, p * HS, rotate(c, kPre[p], p));
            for (int g = 0; g < group; g++) {
                // a mean away from zero and channels of different spread, so both terms matter
                double[] x = gaussian(rnd, HS, 1 + g);
                x[g] += 2;
                qPre[p * group + g] = x;
                write(q, (p * group + g) * HS, rotate(c, x, p));
            }
            for (int j = 0; j < HS; j++) {
                v[p * HS + j] = (float) rnd.nextGaussian();
            }
        }
        // the averaged future rotation, one position at a time
        double[][] r = new double[HS][HS];
        for (int j = 0; j < ExpectedAttentionPolicy.FUTURE; j++) {
            double[][] m = rotation(c, tokens + j);
            for (int a = 0; a < HS; a++) {
                for (int b = 0; b < HS; b++) {
                    r[a][b] += m[a][b] / ExpectedAttentionPolicy.FUTURE;
                }
            }
        }
        double[] score = new double[tokens];
        for (int g = 0; g < group; g++) {
            double[] mean = new double[HS];
            double[][] cov = new double[HS][HS];
            int n = tokens - sinks;
            for (int p = sinks; p < tokens; p++) {
                for (int a = 0; a < HS; a++) {
                    mean[a] += qPre[p * group + g][a] / n;
                }
            }
            for (int p = sinks; p < tokens; p++) {
                for (int a = 0; a < HS; a++) {
                    for (int b = 0; b < HS; b++) {
                        cov[a][b] += (qPre[p * group + g][a] - mean[a]) * (qPre[p * group + g][b] - mean[b]) / n;
                    }
                }
            }
            double[] mu = times(r, mean);
            double[][] sigma = new double[HS][HS];
            for (int a = 0; a < HS; a++) {
                for (int b = 0; b < HS; b++) {
                    for (int x = 0; x < HS; x++) {
                        for (int y = 0; y < HS; y++) {
                            sigma[a][b] += r[a][x] * cov[x][y] * r[b][y];
                        }
                    }
                }
            }
            double[] logit = new double[tokens];
            double total = 0;
            for (int p = sinks; p < tokens; p++) {
                double[] key = rotate(c, kPre[p], p);
                double[] sk = times(sigma, key);
                logit[p] = dot(mu, key) / SQRT8 + dot(key, sk) / 8 / 2;
                total += Math.exp(logit[p]);
            }
            for (int p = sinks; p < tokens; p++) {
                score[p] += Math.exp(logit[p]) / total / group;
            }
        }
        for (int p = sinks; p < tokens; p++) {
            double norm = 0;
            for (int j = 0; j < HS; j++) {
                norm += v[p * HS + j] * v[p * HS + j];
            }
            score[p] *= Math.sqrt(norm);
        }
        int[] best = IntStream.range(sinks, tokens - 1)
                .boxed()
                .sorted((a, b) -> Double.compare(score[b], score[a]))
                .limit(keep - sinks - 1)
                .mapToInt(Integer::intValue)
                .toArray();
        int[] expected = IntStream.concat(
                        IntStream.concat(IntStream.range(0, sinks), Arrays.stream(best)), IntStream.of(tokens - 1))
                .sorted()
                .toArray();
        PagedKvCache cache = cache(c.kvShape(), KvPolicies.of("expected-attention", KvBudget.ofTokens(keep)));
        PolicyHarness.step(cache, c, 0, tokens, q, k, v);
        assertThat(PolicyHarness.kept(cache, 0, 0)).containsExactly(expected);
    }

    /** Two KV heads of one layer (group 1): head 0's keys carry ln a_p, head 1's ln b_p; every query reads them. */
    private static float[][] twoHeads(double[] a, double[] b) {
        int kvDim = 2 * HS;
        float[] q = new float[a.length * kvDim], k = new float[a.length * kvDim];
        for (int p = 0; p < a.length; p++) {
            q[p * kvDim] = (float) SQRT8;
            q[p * kvDim + HS] = (float) SQRT8;
            k[p * kvDim] = (float) Math.log(a[p]);
            k[p * kvDim + HS] = (float) Math.log(b[p]);
        }
        return new float[][] {q, k};
    }

    private static int[][] adaKvKept(int tokens, int budget, double[] a, double[] b) {
        LlamaConfig c = PolicyHarness.config(1, 2, 1);
        EvictionPolicy ada =
                KvPolicies.of("adakv", KvBudget.ofTokens(budget), KvPolicies.Options.DEFAULTS.withScorer("tova"));
        PagedKvCache cache = cache(c.kvShape(), ada);
        float[][] qk = twoHeads(a, b);
        PolicyHarness.step(cache, c, 0, tokens, qk[0], qk[1], new float[qk[1].length]);
        return new int[][] {PolicyHarness.kept(cache, 0, 0), PolicyHarness.kept(cache, 0, 1)};
    }

    /**
     * AdaKV over TOVA's scores by hand. 8 tokens, 5 per head, so the layer keeps 10 of 16 and the best
     * floor(0.2 * 5) = 1 of each head is safe. Head 0 attends evenly (1/8 each); head 1 puts 20/27 on p0 and 1/27 on
     * each other. The six lowest of the layer are head 1's p1..p6: head 1 keeps p0 and its newest, head 0 all 8
     * (TOVA per head would keep 5 each). 16 tokens at 8 per head, head 1 putting 10000/10015 on its newest, p15, and
     * 1/10015 on each other: the layer keeps 16 of 32, and head 1's p0..p14 rank below all of head 0's (1/16 each),
     * but the safeguard keeps the best of them (p14, the newest among equals): head 1 gives 14, head 0 its 2 oldest.
     */
    @Test
    void adaKvMovesTheBudgetToTheHeadsThatSpreadTheirAttention() {
        double[] even8 = new double[8], sharp8 = new double[8];
        Arrays.fill(even8, 1);
        Arrays.fill(sharp8, 1);
        sharp8[0] = 20;
        int[][] kept = adaKvKept(8, 5, even8, sharp8);
        assertThat(kept[0]).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
        assertThat(kept[1]).containsExactly(0, 7);

        double[] even16 = new double[16], sharp16 = new double[16];
        Arrays.fill(even16, 1);
        Arrays.fill(sharp16, 1);
        sharp16[15] = 10000;
        kept = adaKvKept(16, 8, even16, sharp16);
        assertThat(kept[0]).containsExactly(IntStream.range(2, 16).toArray());
        assertThat(kept[1]).containsExactly(14, 15);
    }

    /**
     * DuoAttention by hand on 2 layers x 2 KV heads (H = 4), 1 sink and at least 2 recent tokens (W0 = 3), 5 tokens
     * per head. Each head's pre-RoPE query and key are the same at every position: head 0's on RoPE pair 0 (one
     * radian a position: attention spread over the whole past), head 1's on pair 3, at right angles (the logit
     * grows towards the newest positions: attention to the recent past). The brute-force score ranks head 0 of each
     * layer first (layer 0 before layer 1 on ties). After 10 tokens: m = floor(4 (5 - 3) / (10 - 3)) = 1 retrieval
     * head keeping all 10, the other three share 20 - 10: 3 each, sink p0 and p8, p9. Token 10: m = floor(8 / 8) =
     * 1, W = 3. Token 11: m = floor(8 / 9) = 0: every head streams with W = 5, the former retrieval head keeping p0
     * and p8..p11, the others all 4 they hold.
     */
    @Test
    void duoKeepsEverythingInTheTopRetrievalHeadAndSinksAndRecentTokensElsewhere() {
        LlamaConfig c = PolicyHarness.config(2, 2, 1);
        double[][] qMean = {{3, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 3, 0, 0, 0, 0}};
        double[][] kMean = {{3, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, -3}};
        double[] brute = {bruteScore(c, qMean[0], kMean[0]), bruteScore(c, qMean[1], kMean[1])};
        assertThat(brute[0] - brute[1]).isGreaterThan(0.05);

        int tokens = 12, kvDim = 2 * HS;
        float[] q = new float[tokens * kvDim], k = new float[tokens * kvDim];
        for (int p = 0; p < tokens; p++) {
            for (int h = 0; h < 2; h++) {
                write(q, p * kvDim + h * HS, rotate(c, qMean[h], p));
                write(k, p * kvDim + h * HS, rotate(c, kMean[h], p));
            }
        }
        EvictionPolicy duo = KvPolicies.of("duo", KvBudget.ofTokens(5), new KvPolicies.Options(1, 2, 32, 0));
        PagedKvCache cache = cache(c.kvShape(), duo);
        float[] v = new float[k.length];
        PolicyHarness.step(cache, c, 0, 10, q, k, v);
        assertThat(PolicyHarness.kept(cache, 0, 0))
                .containsExactly(IntStream.range(0, 10).toArray());
        for (int[] head : new int[][] {{0, 1}, {1, 0}, {1, 1}}) {
            assertThat(PolicyHarness.kept(cache, head[0], head[1])).containsExactly(0, 8, 9);
        }
        DuoAttentionPolicy shared = sharedPolicy(cache);
        assertThat(shared.score(0)).isCloseTo(brute[0], within(1e-6));
        assertThat(shared.score(1)).isCloseTo(brute[1], within(1e-6));

        PolicyHarness.step(cache, c, 10, 1, q, k, v);
        assertThat(PolicyHarness.kept(cache, 0, 0))
                .containsExactly(IntStream.range(0, 11).toArray());
        assertThat(PolicyHarness.kept(cache, 1, 1)).containsExactly(0, 9, 10);
        PolicyHarness.step(cache, c, 11, 1, q, k, v);
        assertThat(PolicyHarness.kept(cache, 0, 0)).containsExactly(0, 8, 9, 10, 11);
        for (int[] head : new int[][] {{0, 1}, {1, 0}, {1, 1}}) {
            assertThat(PolicyHarness.kept(cache, head[0], head[1])).containsExactly(0, 9, 10, 11);
        }
    }

    @Test
    void adaKvTakesItsScorerByName() {
        AdaKvPolicy snap = (AdaKvPolicy) KvPolicies.of("adakv", KvBudget.ofRatio(4));
        assertThat(snap.name()).isEqualTo("adakv");
        assertThat(snap.scorer()).isInstanceOf(SnapKvPolicy.class);
        AdaKvPolicy ea = (AdaKvPolicy) KvPolicies.of("adakv:expected-attention", KvBudget.ofRatio(4));
        assertThat(ea.name()).isEqualTo("adakv:expected-attention");
        assertThat(ea.scorer()).isInstanceOf(ExpectedAttentionPolicy.class);
        assertThat(KvCacheSpec.parse("AdaKV:TOVA", 4.0, null, null, new KvShape(1, 1, 1, HS, 0, -1))
                        .label())
                .isEqualTo("adakv:tova@4");
        assertThatThrownBy(() -> KvPolicies.of("adakv:duo", KvBudget.ofRatio(4)))
                .hasMessageStartingWith("unknown KV policy 'adakv:duo'");
        assertThatThrownBy(() -> KvPolicies.Options.DEFAULTS.withScorer("adakv"))
                .hasMessageStartingWith("unknown AdaKV scorer 'adakv'");
    }

    private static DuoAttentionPolicy sharedPolicy(PagedKvCache cache) {
        try {
            var f = PagedKvCache.class.getDeclaredField("policy");
            f.setAccessible(true);
            return (DuoAttentionPolicy) f.get(cache);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    /** kvpress's on-the-fly score: the mean query at 499 over the mean key at 0..499, the mean cumulative weight. */
    private static double bruteScore(LlamaConfig c, double[] qMean, double[] kMean) {
        int n = DuoAttentionPolicy.SCORE_POSITIONS;
        double[] query = rotate(c, qMean, n - 1);
        double[] w = new double[n];
        double total = 0;
        for (int j = 0; j < n; j++) {
            w[j] = Math.exp(dot(query, rotate(c, kMean, j)) / SQRT8);
            total += w[j];
        }
        double cumulative = 0, area = 0;
        for (int j = 0; j < n; j++) {
            cumulative += w[j] / total;
            area += cumulative / n;
        }
        return area;
    }

    /** The RoPE rotation of position {@code p} as a matrix (the config's pairing and frequencies). */
    private static double[][] rotation(LlamaConfig c, int p) {
        float[] freq = c.ropeFrequencies();
        double[][] m = new double[HS][HS];
        for (int i = 0; i < HS / 2; i++) {
            int a = i, b = i + HS / 2; // the harness's configs rotate halves
            double angle = (double) p * freq[i];
            m[a][a] = Math.cos(angle);
            m[a][b] = -Math.sin(angle);
            m[b][a] = Math.sin(angle);
            m[b][b] = Math.cos(angle);
        }
        return m;
    }

    private static double[] rotate(LlamaConfig c, double[] x, int p) {
        return times(rotation(c, p), x);
    }

    private static double[] times(double[][] m, double[] x) {
        double[] y = new double[x.length];
        for (int a = 0; a < x.length; a++) {
            y[a] = dot(m[a], x);
        }
        return y;
    }

    private static double dot(double[] x, double[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += x[i] * y[i];
        }
        return s;
    }

    private static double[] gaussian(SplittableRandom rnd, int n, double sd) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextGaussian() * sd * (1 + i % 3);
        }
        return x;
    }

    private static void write(float[] dst, int off, double[] x) {
        for (int i = 0; i < x.length; i++) {
            dst[off + i] = (float) x[i];
        }
    }
}
