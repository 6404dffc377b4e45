package dev.kvslim.core.kv;

import static dev.kvslim.core.kv.PolicyHarness.HS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.tensor.Kernels;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * KVzip on a hand-worked example: one layer, two KV heads of two query heads each. Query head g of a group is
 * {@code sqrt(8)} on channel g, so with the 1/sqrt(8) scale its score for a key is that key's channel g: a key holding
 * {@code ln a_p} there gets softmax weight {@code a_p / sum(a)}.
 */
class KvZipPolicyTest {

    private static final float SQRT8 = (float) Math.sqrt(8);
    private static final int KV_HEADS = 2, GROUP = 2;

    /** Keys of 7 positions: per KV head, {@code ln a} on channel 0 and {@code ln b} on channel 1. */
    private static float[] keys(double[][] a, double[][] b) {
        int kvDim = KV_HEADS * HS;
        float[] k = new float[a[0].length * kvDim];
        for (int h = 0; h < KV_HEADS; h++) {
            for (int p = 0; p < a[h].length; p++) {
                k[p * kvDim + h * HS] = (float) Math.log(a[h][p]);
                k[p * kvDim + h * HS + 1] = (float) Math.log(b[h][p]);
            }
        }
        return k;
    }

    private static float[] queries(int tokens) {
        int qDim = KV_HEADS * GROUP * HS;
        float[] q = new float[tokens * qDim];
        for (int p = 0; p < tokens; p++) {
            for (int head = 0; head < KV_HEADS * GROUP; head++) {
                q[p * qDim + head * HS + head % GROUP] = SQRT8;
            }
        }
        return q;
    }

    @Test
    void theReplayScoresTheContextAndTheWholeCacheKeepsItsBestTokens() {
        LlamaConfig c = PolicyHarness.config(1, KV_HEADS, GROUP);
        PagedKvCache cache = new PagedKvCache(
                c.kvShape(),
                new BlockPool(HS, Kernels.lanes(), 1L << 24),
                64,
                new KvCacheSpec.Evicting(KvPolicies.of("kvzip", KvBudget.ofTokens(2))));
        assertThat(cache.replaysContext()).isTrue();
        // positions 0-5 the prompt, 6 the replayed token
        float[] k = keys(
                new double[][] {{1, 8, 1, 1, 1, 1, 3}, {1, 1, 1, 6, 1, 1, 2}},
                new double[][] {{12, 1, 1, 1, 1, 1, 6}, {1, 1, 1, 1, 1, 1, 2}});
        float[] q = queries(7), v = new float[k.length];
        PolicyHarness.step(cache, c, 0, 6, q, k, v);
        // before the replay nothing goes, whatever the budget
        assertThat(PolicyHarness.kept(cache, 0, 0)).containsExactly(0, 1, 2, 3, 4, 5);

        cache.beginReplay();
        PolicyHarness.step(cache, c, 6, 1, q, k, v);
        cache.endReplayChunk();
        assertThat(cache.length()).isEqualTo(6);
        assertThat(PolicyHarness.kept(cache, 0, 1)).containsExactly(0, 1, 2, 3, 4, 5);
        // the replayed query's weights, the higher of each group's two heads:
        //   head 0: channel 0 a/16 (1, 8, 1, 1, 1, 1 | 3), channel 1 b/23 (12, 1, 1, 1, 1, 1 | 6)
        //     p0 max(1/16, 12/23) = 0.5217, p1 max(8/16, 1/23) = 0.5, p2-p5 1/16 = 0.0625
        //   head 1: channel 0 a/13 (1, 1, 1, 6, 1, 1 | 2), channel 1 b/8 (all 1 | 2)
        //     p3 max(6/13, 1/8) = 0.4615, the others 1/8 = 0.125
        HeadStore h0 = PolicyHarness.head(cache, 0, 0), h1 = PolicyHarness.head(cache, 0, 1);
        assertThat(h0.score(0)).isCloseTo(12f / 23, within(1e-6f));
        assertThat(h0.score(1)).isCloseTo(0.5f, within(1e-6f));
        assertThat(h1.score(3)).isCloseTo(6f / 13, within(1e-6f));
        assertThat(h1.score(0)).isCloseTo(0.125f, within(1e-6f));

        cache.endReplay();
        // the cache keeps 2 heads x 2 tokens: each head's newest (p5) and the two best others of the whole cache,
        // both head 0's: p0 0.5217 and p1 0.5 before head 1's p3 0.4615 (with the group's mean instead of its
        // maximum, head 1's p3 0.2933 would have beaten head 0's p0 0.2921 and p1 0.2717)
        assertThat(PolicyHarness.kept(cache, 0, 0)).containsExactly(0, 1, 5);
        assertThat(PolicyHarness.kept(cache, 0, 1)).containsExactly(5);
        assertThat(cache.compressionRatio()).isCloseTo(3.0, within(1e-9));

        // decoding token 6 holds 4 tokens: the scores stay the replay's, the decoded token stays (and is the newest),
        // and the two lowest-scored prompt tokens of the cache go: head 0's p5 (0.0625), then head 1's p5 (0.125)
        float[] decodeKeys = new float[k.length], decodeQueries = queries(7);
        PolicyHarness.step(cache, c, 6, 1, decodeQueries, decodeKeys, v);
        assertThat(PolicyHarness.kept(cache, 0, 0)).containsExactly(0, 1, 6);
        assertThat(PolicyHarness.kept(cache, 0, 1)).containsExactly(6);
        assertThat(h0.score(0)).isCloseTo(12f / 23, within(1e-6f));
        // token 7: the budget (2 a head) again lets 2 go; head 1 has only its newest, head 0 the prompt's p0 and p1
        // (0.5217, 0.5) and token 6 (decoded, kept while prompt tokens are left): p1, then p0
        PolicyHarness.step(cache, c, 7, 1, queries(8), new float[8 * KV_HEADS * HS], new float[8 * KV_HEADS * HS]);
        assertThat(PolicyHarness.kept(cache, 0, 0)).containsExactly(6, 7);
        assertThat(PolicyHarness.kept(cache, 0, 1)).containsExactly(6, 7);
    }

    @Test
    void overABudgetTheCacheHoldsExactlyItsShareAndTheNewestOfEveryHead() {
        // random keys, two layers, a prompt in random batches, a replay in chunks, then decoding at ratio 3
        SplittableRandom rnd = new SplittableRandom(7);
        LlamaConfig c = PolicyHarness.config(2, KV_HEADS, GROUP);
        KvBudget budget = KvBudget.ofRatio(3);
        BlockPool pool = new BlockPool(HS, Kernels.lanes(), 1L << 24);
        PagedKvCache cache =
                new PagedKvCache(c.kvShape(), pool, 400, new KvCacheSpec.Evicting(KvPolicies.of("kvzip", budget)));
        int prompt = 150, replay = 60, decode = 40;
        float[] q = PolicyHarness.gaussian(rnd, 400 * c.qDim()), k = PolicyHarness.gaussian(rnd, 400 * c.kvDim());
        float[] v = PolicyHarness.gaussian(rnd, 400 * c.kvDim());
        PolicyHarness.run(cache, c, q, k, v, 17, 1, 64, 68);
        cache.beginReplay();
        for (int chunk = 0; chunk < replay; chunk += 25) {
            PolicyHarness.step(cache, c, prompt, Math.min(25, replay - chunk), q, k, v);
            cache.endReplayChunk();
        }
        cache.endReplay();
        for (int t = 0; t <= decode; t++) {
            int seen = prompt + t;
            long total = 0;
            for (int l = 0; l < 2; l++) {
                for (int h = 0; h < KV_HEADS; h++) {
                    int[] kept = PolicyHarness.kept(cache, l, h);
                    assertThat(kept).as("layer %d head %d after %d", l, h, seen).endsWith(seen - 1);
                    assertThat(kept).doesNotHaveDuplicates();
                    assertThat(kept[kept.length - 1]).isLessThan(seen);
                    total += kept.length;
                }
            }
            assertThat(total).as("after %d", seen).isEqualTo(2L * KV_HEADS * budget.keep(seen));
            if (t < decode) {
                PolicyHarness.step(cache, c, seen, 1, q, k, v);
            }
        }
        cache.release();
        assertThat(pool.usedBlocks()).isZero();
    }

    @Test
    void onlyAReplayingPolicyReplaysAndEveryOtherFrontEndSaysSo() {
        LlamaConfig c = PolicyHarness.config(1, 1, 1);
        PagedKvCache snap = new PagedKvCache(
                c.kvShape(),
                new BlockPool(HS, Kernels.lanes(), 1L << 20),
                16,
                new KvCacheSpec.Evicting(KvPolicies.of("snapkv", KvBudget.ofTokens(2))));
        assertThat(snap.replaysContext()).isFalse();
        assertThatThrownBy(snap::beginReplay)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("this cache's policy does not replay its context");
        KvCacheSpec.Evicting zip = new KvCacheSpec.Evicting(KvPolicies.of("kvzip", KvBudget.ofRatio(4)));
        assertThat(zip.replaysContext()).isTrue();
        assertThat(KvCacheSpec.keepAll().replaysContext()).isFalse();
        assertThatThrownBy(() -> zip.requireNoReplay("serve"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--kv-policy kvzip scores a prompt by replaying it through the model before decoding,"
                        + " which serve does not do (generate and eval --task do)");
        PagedKvCache cache = new PagedKvCache(c.kvShape(), new BlockPool(HS, Kernels.lanes(), 1L << 20), 16, zip);
        assertThatThrownBy(cache::endReplayChunk).isInstanceOf(IllegalStateException.class);
        cache.beginReplay();
        assertThatThrownBy(cache::beginReplay)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("kvzip replays a context once, before decoding");
    }
}
