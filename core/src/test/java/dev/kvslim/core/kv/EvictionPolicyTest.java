package dev.kvslim.core.kv;

import static dev.kvslim.core.kv.PolicyHarness.HS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.format.llama2c.Llama2cCheckpoint;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.tensor.Kernels;
import dev.kvslim.core.testing.Fixtures;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Each eviction policy on a small example whose kept tokens are worked out by hand from its definition. Queries are
 * {@code sqrt(8)} on one channel, so with the 1/sqrt(8) scale a query's score for a key is that channel of the key:
 * a key holding {@code ln a_p} there gets softmax weight {@code a_p / sum(a)}.
 */
class EvictionPolicyTest {

    private static final float SQRT8 = (float) Math.sqrt(8);

    private static PagedKvCache cache(LlamaConfig c, EvictionPolicy policy) {
        return new PagedKvCache(
                c.kvShape(), new BlockPool(HS, Kernels.lanes(), 1L << 24), 64, new KvCacheSpec.Evicting(policy));
    }

    /** Keys with {@code ln a[p]} on channel 0 (and {@code ln b[p]} on channel 1, if given); one KV head. */
    private static float[] logKeys(double[] a, double[] b) {
        float[] k = new float[a.length * HS];
        for (int p = 0; p < a.length; p++) {
            k[p * HS] = (float) Math.log(a[p]);
            k[p * HS + 1] = b == null ? 0f : (float) Math.log(b[p]);
        }
        return k;
    }

    /** Every token's query: query head g of the group is sqrt(8) on channel g. */
    private static float[] unitQueries(int tokens, int group) {
        float[] q = new float[tokens * group * HS];
        for (int p = 0; p < tokens; p++) {
            for (int g = 0; g < group; g++) {
                q[(p * group + g) * HS + g] = SQRT8;
            }
        }
        return q;
    }

    private static int[] keptAfter(EvictionPolicy policy, int group, float[] q, float[] k, int... batches) {
        LlamaConfig c = PolicyHarness.config(1, 1, group);
        PagedKvCache cache = cache(c, policy);
        PolicyHarness.run(cache, c, q, k, new float[k.length], batches);
        return PolicyHarness.kept(cache, 0, 0);
    }

    /** The kept positions after each decode step from an empty cache. */
    private static int[][] decodeTrace(EvictionPolicy policy, float[] q, float[] k, int tokens) {
        LlamaConfig c = PolicyHarness.config(1, 1, 1);
        PagedKvCache cache = cache(c, policy);
        int[][] trace = new int[tokens][];
        for (int t = 0; t < tokens; t++) {
            PolicyHarness.step(cache, c, t, 1, q, k, new float[k.length]);
            trace[t] = PolicyHarness.kept(cache, 0, 0);
        }
        return trace;
    }

    @Test
    void streamingKeepsTheSinksAndTheMostRecentTokens() {
        float[] zeros = new float[8 * HS];
        EvictionPolicy twoSinks = KvPolicies.of("streaming", KvBudget.ofTokens(4), new KvPolicies.Options(2, 0, 32, 0));
        // budget 4 = sinks {0, 1} + the 2 most recent {6, 7}; 2, 3, 4, 5 went, oldest first
        for (int[] batches : new int[][] {{8}, {1, 1, 1, 1, 1, 1, 1, 1}, {3, 5}}) {
            assertThat(keptAfter(twoSinks, 1, zeros, zeros, batches))
                    .as("batches %s", Arrays.toString(batches))
                    .containsExactly(0, 1, 6, 7);
        }
        // the default 4 sinks and the newest token do not fit in 4: sinks 0, 1, 2 and the newest token 7 stay
        EvictionPolicy fourSinks = KvPolicies.of("streaming", KvBudget.ofTokens(4));
        assertThat(keptAfter(fourSinks, 1, zeros, zeros, 8)).containsExactly(0, 1, 2, 7);
        assertThat(keptAfter(fourSinks, 1, zeros, zeros, 1, 1, 1, 1, 1, 1, 1, 1))
                .containsExactly(0, 1, 2, 7);
    }

    /** a = 1, 1, 2, 4, 8, 16, 32, 64: query t sees a_0 + .. + a_t = 2^t, so it puts a_p / 2^t on key p. */
    private static final double[] DOUBLING = {1, 1, 2, 4, 8, 16, 32, 64};

    @Test
    void h2oKeepsTheRecentWindowAndTheHeaviestAccumulatedAttention() {
        EvictionPolicy h2o = KvPolicies.of("h2o", KvBudget.ofTokens(4));
        float[] q = unitQueries(8, 1), k = logKeys(DOUBLING, null);
        // one batch of 8; score(p) = a_p * (2^-p + .. + 2^-7):
        //   p0 1.9921875, p1 0.9921875, p2 0.984375, p3 0.96875, p4 0.9375, p5 0.875 (p6 0.75, p7 0.5)
        // recent window = half the budget = {6, 7}; the 4 lowest of p0..p5 go: p5, p4, p3, p2
        assertThat(keptAfter(h2o, 1, q, k, 8)).containsExactly(0, 1, 6, 7);
        // prefill 4 then decode: scores accumulate over the batches, each query normalising over what is kept
        //   after 4 tokens (no eviction): p0 1.875, p1 0.875, p2 0.75, p3 0.5
        //   t4 sees {0..4} (sum 16): p0 1.9375, p1 0.9375, p2 0.875; recent {3, 4}; p2 goes
        //   t5 sees {0,1,3,4,5} (sum 30): p0 1.9708, p1 0.9708, p3 0.75 + 4/30 = 0.8833; recent {4, 5}; p3 goes
        //   t6 sees {0,1,4,5,6} (sum 58): p0 1.9881, p1 0.9881, p4 0.5 + 8/30 + 8/58 = 0.9046; recent {5, 6}; p4 goes
        //   t7 sees {0,1,5,6,7} (sum 114): p0 1.9969, p1 0.9969, p5 16/30 + 16/58 + 16/114 = 0.9496; p5 goes
        LlamaConfig c = PolicyHarness.config(1, 1, 1);
        PagedKvCache cache = cache(c, h2o);
        PolicyHarness.step(cache, c, 0, 4, q, k, new float[k.length]);
        assertThat(PolicyHarness.kept(cache, 0, 0)).containsExactly(0, 1, 2, 3);
        int[][] expected = {{0, 1, 3, 4}, {0, 1, 4, 5}, {0, 1, 5, 6}, {0, 1, 6, 7}};
        for (int t = 4; t < 8; t++) {
            PolicyHarness.step(cache, c, t, 1, q, k, new float[k.length]);
            assertThat(PolicyHarness.kept(cache, 0, 0)).as("after token %d", t).containsExactly(expected[t - 4]);
        }
        assertThat(PolicyHarness.head(cache, 0, 0).score(0)).isCloseTo(1.9969f, within(1e-4f));
    }

    @Test
    void tovaDropsWhatTheLatestQueryAttendsToLeastAveragedOverTheGroup() {
        EvictionPolicy tova = KvPolicies.of("tova", KvBudget.ofTokens(4));
        // group of 2: head 0 weights a_p / 36, head 1 weights b_p / 36; their mean is (a_p + b_p) / 72
        double[] a = {4, 1, 6, 2, 8, 3, 5, 7}, b = {1, 8, 2, 4, 3, 7, 5, 6};
        // a + b = 5, 9, 8, 6, 11, 10, 10, 13: of p0..p6 the 4 lowest go: p0 (5), p3 (6), p2 (8), p1 (9)
        assertThat(keptAfter(tova, 2, unitQueries(8, 2), logKeys(a, b), 8)).containsExactly(4, 5, 6, 7);
        // head 0 alone (group 1), with the newest token attended least (a_7 = 0.5) yet kept:
        // of p0..p6 the 4 lowest a go: p1 (1), p3 (2), p5 (3), p0 (4)
        double[] a7 = {4, 1, 6, 2, 8, 3, 5, 0.5};
        float[] q = unitQueries(8, 1), k = logKeys(a7, null);
        assertThat(keptAfter(tova, 1, q, k, 8)).containsExactly(2, 4, 6, 7);
        // decoding, each step drops the lowest a among the kept tokens but the newest:
        // t4 {0,1,2,3,4} drops p1; t5 {0,2,3,4,5} drops p3 (2); t6 {0,2,4,5,6} drops p5 (3); t7 drops p0 (4)
        int[][] trace = decodeTrace(tova, q, k, 8);
        assertThat(trace[4]).containsExactly(0, 2, 3, 4);
        assertThat(trace[5]).containsExactly(0, 2, 4, 5);
        assertThat(trace[6]).containsExactly(0, 2, 4, 6);
        assertThat(trace[7]).containsExactly(2, 4, 6, 7);
    }

    @Test
    void snapKvKeepsTheWindowAndTheNeighboursOfThePeaksItAttendsTo() {
        EvictionPolicy snap = KvPolicies.of("snapkv", KvBudget.ofTokens(6), new KvPolicies.Options(4, 0, 2, 0));
        // 16 tokens, a_0 = 9, a_12 = 5, the rest 1; the window is queries 14 and 15, both weighting key p by a_p / sum
        double[] a = new double[16];
        Arrays.fill(a, 1);
        a[0] = 9;
        a[12] = 5;
        float[] q = unitQueries(16, 1), k = logKeys(a, null);
        // scores of p0..p13 are proportional to a_p; the kernel-7 max-pool gives p0..p3 9 (within 3 of p0),
        // p9..p13 5 (within 3 of p12), p4..p8 1; the budget leaves 6 - 2 = 4 older tokens: p0..p3.
        // (Without the pool the top 4 would be p0, p12 and the newest of the ties, p13 and p11.)
        assertThat(keptAfter(snap, 1, q, k, 16)).containsExactly(0, 1, 2, 3, 14, 15);
        // in two batches: after 10, window {8, 9} and p0..p3 (pooled 9); after 16 the older kept tokens
        // 0,1,2,3,8,..,13 are pooled as a sequence: p0..p3 9, p8 1, p9..p13 5; again p0..p3 win
        assertThat(keptAfter(snap, 1, q, k, 10, 6)).containsExactly(0, 1, 2, 3, 14, 15);
    }

    @Test
    void snapKvWhileDecodingHoldsItsBudgetEveryToken() {
        int block = Kernels.lanes();
        EvictionPolicy snap = KvPolicies.of("snapkv", KvBudget.ofTokens(4), new KvPolicies.Options(4, 0, 2, 0));
        float[] zeros = new float[(4 + 3 * block) * HS];
        int[][] trace = decodeTrace(snap, zeros, zeros, 4 + 3 * block);
        for (int t = 0; t < trace.length; t++) {
            assertThat(trace[t]).as("after token %d", t).hasSize(Math.min(t + 1, 4));
        }
        // equal attention everywhere: the pooled scores tie and the older tokens go first, so the newest 4 stay
        assertThat(trace[3 + block]).containsExactly(block, block + 1, block + 2, block + 3);
        // a prefill batch compresses at once
        assertThat(keptAfter(snap, 1, zeros, zeros, 4 + block + 3)).hasSize(4);
    }

    @Test
    void knormDropsTheLargestKeys() {
        EvictionPolicy knorm = KvPolicies.of("knorm", KvBudget.ofTokens(4));
        float[] norms = {5, 1, 7, 2, 8, 3, 6, 9};
        float[] k = new float[8 * HS], q = new float[8 * HS];
        for (int p = 0; p < 8; p++) {
            k[p * HS + 3] = p % 2 == 0 ? norms[p] : -norms[p];
        }
        // of p0..p6 the 4 largest norms go: p4 (8), p2 (7), p6 (6), p0 (5); p7 (9) is the newest and stays
        assertThat(keptAfter(knorm, 1, q, k, 8)).containsExactly(1, 3, 5, 7);
        // decoding: t4 drops p2 (7 of 5,1,7,2); t5 p4 (8); t6 p0 (5 of 5,1,2,3); t7 p6 (6)
        int[][] trace = decodeTrace(knorm, q, k, 8);
        assertThat(trace[4]).containsExactly(0, 1, 3, 4);
        assertThat(trace[5]).containsExactly(0, 1, 3, 5);
        assertThat(trace[6]).containsExactly(1, 3, 5, 6);
        assertThat(trace[7]).containsExactly(1, 3, 5, 7);
    }

    /**
     * KeyDiff by hand, keys in two channels: p0 (1, 0), p1 (1, 0.1), p2 (0, 1), p3 (1, -0.1), p4 (-1, 0), p5 (2, 0).
     * The anchor, the mean of the unit keys, is about (0.498, 0.167), 18.5 degrees up; cosines to it: p1 0.975, p0
     * 0.948, p5 0.948, p3 0.912, p2 0.317, p4 -0.948. Keeping 3 of 6 drops the three most similar of p0..p4 (p5 is the
     * newest): p1, p0 and p3; the distinctive p2 and p4 stay. Key length does not matter (p5 is twice p0).
     */
    @Test
    void keyDiffDropsTheKeysMostAlignedWithTheMeanDirection() {
        EvictionPolicy keydiff = KvPolicies.of("keydiff", KvBudget.ofTokens(3));
        float[][] keys = {{1, 0}, {1, 0.1f}, {0, 1}, {1, -0.1f}, {-1, 0}, {2, 0}};
        float[] k = new float[6 * HS], q = new float[6 * HS];
        for (int p = 0; p < 6; p++) {
            k[p * HS] = keys[p][0];
            k[p * HS + 1] = keys[p][1];
        }
        assertThat(keptAfter(keydiff, 1, q, k, 6)).containsExactly(2, 4, 5);
    }

    @Test
    void randomKeepsTheNewestAndAUniformSampleOfTheRest() {
        float[] zeros = new float[8 * HS];
        int runs = 7000;
        int[] keptCount = new int[8];
        Set<String> subsets = new HashSet<>();
        for (int seed = 0; seed < runs; seed++) {
            EvictionPolicy random =
                    KvPolicies.of("random", KvBudget.ofTokens(4), new KvPolicies.Options(4, 0, 32, seed));
            int[] kept = keptAfter(random, 1, zeros, zeros, 8);
            assertThat(kept).hasSize(4).endsWith(7);
            assertThat(keptAfter(random, 1, zeros, zeros, 8))
                    .as("seed %d repeats", seed)
                    .containsExactly(kept);
            for (int p : kept) {
                keptCount[p]++;
            }
            subsets.add(Arrays.toString(kept));
        }
        // each of p0..p6 stays with probability 3/7 (standard error 0.006 over 7000 runs)
        for (int p = 0; p < 7; p++) {
            assertThat(keptCount[p] / (double) runs).as("token %d", p).isCloseTo(3 / 7.0, within(0.03));
        }
        assertThat(subsets).hasSize(35); // every 3 of 7
    }

    @Test
    void noneMatchesTheDenseCache() {
        Model m = Llama2cCheckpoint.load(Fixtures.path("stories260K/stories260K.bin"));
        PagedKvCache paged = new PagedKvCache(
                m.config().kvShape(),
                new BlockPool(m.config().headSize(), Kernels.lanes(), 1L << 26),
                120,
                KvCacheSpec.keepAll());
        KvCache dense = m.newDenseCache(120);
        Model.State a = m.newState(8), b = m.newState(8);
        int[] tokens = new int[120];
        tokens[0] = 1;
        float[] pl = m.forward(a, tokens, 0, 1, 0, paged), dl = m.forward(b, tokens, 0, 1, 0, dense);
        for (int pos = 1; pos < 120; pos++) {
            assertThat(pl).as("position %d", pos).containsExactly(dl, within(2e-5f));
            tokens[pos] = Sampler.argmax(dl);
            pl = m.forward(a, tokens, pos, 1, pos, paged);
            dl = m.forward(b, tokens, pos, 1, pos, dense);
        }
        assertThat(paged.compressionRatio()).isEqualTo(1.0);
    }

    @Test
    void namesBudgetsAndRewinding() {
        assertThatThrownBy(() -> KvPolicies.of("lru", KvBudget.ofTokens(4)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "unknown KV policy 'lru'; supported: streaming, h2o, tova, snapkv, knorm, keydiff,"
                                + " expected-attention, adakv, duo, kvzip, random (adakv:SCORER for AdaKV over another scorer)");
        for (String name : KvPolicies.NAMES) {
            assertThat(KvPolicies.of(name, KvBudget.ofRatio(2)).name()).isEqualTo(name);
        }
        assertThat(KvBudget.ofRatio(4).keep(10)).isEqualTo(3);
        assertThat(KvBudget.ofRatio(4).keep(8)).isEqualTo(2);
        assertThat(KvBudget.ofTokens(5).keep(3)).isEqualTo(3);
        assertThat(KvBudget.ofTokens(5).keep(9)).isEqualTo(5);
        assertThatThrownBy(() -> KvBudget.ofRatio(0.5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> KvBudget.ofTokens(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new KvBudget(2, 3)).isInstanceOf(IllegalArgumentException.class);

        // a compressed cache can be cleared, not rewound; cleared, it starts over (the draws included)
        LlamaConfig c = PolicyHarness.config(2, 2, 1);
        PagedKvCache cache = cache(c, KvPolicies.of("random", KvBudget.ofTokens(3)));
        assertThat(((KvCacheSpec.Evicting) cache.spec()).policy()).hasToString("random (3 tokens per head)");
        assertThat(cache.spec().label()).isEqualTo("random@3tok");
        float[] zeros = new float[12 * 2 * HS];
        PolicyHarness.run(cache, c, zeros, zeros, zeros, 6, 1, 1, 1, 1, 1, 1);
        int[] first = PolicyHarness.kept(cache, 1, 1);
        assertThatThrownBy(() -> cache.truncate(5))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot rewind the cache compressed by random to 5");
        cache.truncate(0);
        assertThat(cache.liveTokens(1, 1)).isZero();
        PolicyHarness.run(cache, c, zeros, zeros, zeros, 6, 1, 1, 1, 1, 1, 1);
        assertThat(PolicyHarness.kept(cache, 1, 1)).containsExactly(first);
    }
}
