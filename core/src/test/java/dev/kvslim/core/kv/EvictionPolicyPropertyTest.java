package dev.kvslim.core.kv;

import static dev.kvslim.core.kv.PolicyHarness.HS;
import static dev.kvslim.core.kv.PolicyHarness.gaussian;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.format.llama2c.Llama2cCheckpoint;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tensor.Kernels;
import dev.kvslim.core.testing.Fixtures;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every eviction policy under seeded random use: random shapes, budgets, options and batch sizes with random
 * queries, keys and values. After every batch each head keeps exactly its budget's worth of tokens (SnapKV while
 * decoding: up to a block less one more), the newest among them, none lost, duplicated or corrupted (a key channel
 * and a value channel carry the position, and every attention output matches a naive softmax over what the head
 * held), and the pool holds exactly the blocks those tokens fill. Seeds cycle through the KV element types (the
 * reference then uses keys and values rounded to the type). Over a long run the compression ratio comes out at
 * the target.
 */
class EvictionPolicyPropertyTest {

    private static final String[] POLICIES = {
        "none", "streaming", "h2o", "tova", "snapkv", "knorm", "keydiff", "expected-attention", "adakv", "duo", "random"
    };

    /** Where the budget is shared: AdaKV's among a layer's heads, DuoAttention's and KVzip's among the cache's. */
    private static boolean shared(String name) {
        return name.equals("adakv") || name.equals("duo") || name.equals("kvzip");
    }

    /** {@code none} keeps every token (and ignores the budget); the others evict by their policy. */
    private static KvCacheSpec.Paged spec(String name, KvBudget budget, KvPolicies.Options options) {
        return name.equals("none")
                ? KvCacheSpec.keepAll()
                : new KvCacheSpec.Evicting(KvPolicies.of(name, budget, options));
    }

    static Stream<Arguments> policiesAndSeeds() {
        KvType[] types = KvType.values();
        return Arrays.stream(POLICIES)
                .flatMap(p ->
                        IntStream.range(0, 5).mapToObj(seed -> Arguments.of(p, seed, types[seed % types.length])));
    }

    @ParameterizedTest(name = "{0} seed {1} {2}")
    @MethodSource("policiesAndSeeds")
    void randomBatchesKeepExactlyTheBudgetAndNothingElseChanges(String name, int seed, KvType type) {
        SplittableRandom rnd = new SplittableRandom(name.hashCode() * 1000L + seed);
        int layers = 2, kvHeads = 1 + rnd.nextInt(3), group = 1 + rnd.nextInt(3), tokens = 150 + rnd.nextInt(150);
        LlamaConfig c = PolicyHarness.config(layers, kvHeads, group);
        KvPolicies.Options options = new KvPolicies.Options(
                rnd.nextInt(7),
                rnd.nextInt(3) * rnd.nextInt(10),
                1 + rnd.nextInt(40),
                rnd.nextLong(),
                KvPolicies.SCORERS.get(rnd.nextInt(KvPolicies.SCORERS.size())));
        KvCacheSpec.Paged spec = spec(
                name,
                rnd.nextBoolean() ? KvBudget.ofRatio(1 + 5 * rnd.nextDouble()) : KvBudget.ofTokens(1 + rnd.nextInt(40)),
                options);
        // none keeps every token
        KvBudget budget = spec instanceof KvCacheSpec.Evicting e ? e.policy().budget() : KvBudget.ofRatio(1);
        int block = Kernels.lanes(), maxBatch = 24;
        int slack = 0;
        int heads = layers * kvHeads;
        // a head sharing its budget may hold up to every token
        long blocksPerHead = ((shared(name) ? tokens : budget.keep(tokens)) + slack + maxBatch + block - 1) / block;
        BlockPool pool = new BlockPool(HS, block, heads * blocksPerHead * BlockPool.blockBytes(HS, block, type), type);
        PagedKvCache cache = new PagedKvCache(c.kvShape(), pool, tokens, spec);

        // random q, k, v; key channel HS-1 (which no query reads) and value channel 0 carry the position (x 0.001)
        float[] q = gaussian(rnd, tokens * c.qDim()), k = gaussian(rnd, tokens * c.kvDim());
        float[] v = gaussian(rnd, tokens * c.kvDim());
        for (int p = 0; p < tokens; p++) {
            for (int h = 0; h < kvHeads; h++) {
                k[p * c.kvDim() + h * HS + HS - 1] = p * 1e-3f;
                v[p * c.kvDim() + h * HS] = p * 1e-3f;
            }
            for (int g = 0; g < c.heads(); g++) {
                q[p * c.qDim() + g * HS + HS - 1] = 0f;
            }
        }
        k = KvRounding.round(type, k, HS);
        v = KvRounding.round(type, v, HS);

        int[][][] before = new int[layers][kvHeads][0];
        for (int pos = 0, n; pos < tokens; pos += n) {
            n = Math.min(tokens - pos, rnd.nextInt(3) == 0 ? 1 + rnd.nextInt(maxBatch) : 1);
            float[] out = PolicyHarness.step(cache, c, pos, n, q, k, v);
            // layer 0's outputs: a softmax over what each head held before the batch plus the batch itself
            for (int t = 0; t < n; t++) {
                for (int h = 0; h < kvHeads; h++) {
                    int query = pos + t;
                    int[] visible = IntStream.concat(Arrays.stream(before[0][h]), IntStream.rangeClosed(pos, query))
                            .toArray();
                    for (int g = 0; g < group; g++) {
                        int at = t * c.qDim() + (h * group + g) * HS;
                        float[] expected = naive(c, q, (query * c.heads() + h * group + g) * HS, k, v, h, visible);
                        assertThat(Arrays.copyOfRange(out, at, at + HS))
                                .as("query %d head %d.%d", query, h, g)
                                .containsExactly(expected, within(1e-4f));
                    }
                }
            }
            int seen = pos + n;
            long blocks = 0, cacheTotal = 0;
            for (int l = 0; l < layers; l++) {
                long layerTotal = 0;
                for (int h = 0; h < kvHeads; h++) {
                    HeadStore head = PolicyHarness.head(cache, l, h);
                    int[] kept = PolicyHarness.kept(cache, l, h);
                    int keep = budget.keep(seen);
                    String at = name + " " + budget + " layer " + l + " head " + h + " after " + seen;
                    layerTotal += kept.length;
                    if (shared(name)) {
                        assertThat(kept.length).as(at).isBetween(1, seen);
                    } else if (slack > 0 && n == 1) {
                        assertThat(kept.length).as(at).isBetween(keep, keep + slack);
                        assertThat(kept.length == keep || kept.length == before[l][h].length + 1)
                                .as(at)
                                .isTrue();
                    } else {
                        assertThat(kept.length).as(at).isEqualTo(keep);
                    }
                    assertThat(kept).as(at).doesNotHaveDuplicates().endsWith(seen - 1);
                    Set<Integer> allowed = new HashSet<>();
                    Arrays.stream(before[l][h]).forEach(allowed::add);
                    IntStream.range(pos, seen).forEach(allowed::add);
                    assertThat(Arrays.stream(kept).boxed().toList()).as(at).isSubsetOf(allowed);
                    assertThat(head.slots()).as(at).isEqualTo(kept.length);
                    for (int slot = 0; slot < head.slots(); slot++) {
                        int p = head.position(slot);
                        assertThat(PolicyHarness.stored(head, slot, HS - 1)[0])
                                .as(at)
                                .isEqualTo(k[p * c.kvDim() + h * HS + HS - 1]);
                        assertThat(PolicyHarness.stored(head, slot, 0)[1])
                                .as(at)
                                .isEqualTo(v[p * c.kvDim() + h * HS]);
                    }
                    blocks += (kept.length + block - 1) / block;
                    before[l][h] = kept;
                }
                int keep = budget.keep(seen);
                if (name.equals("adakv")) {
                    assertThat(layerTotal)
                            .as("adakv layer %d after %d", l, seen)
                            .isEqualTo((long) kvHeads * keep);
                }
                cacheTotal += layerTotal;
            }
            if (name.equals("duo")) {
                // the retrieval heads keep everything, the streaming heads share the rest (rounded down; less when
                // a retrieval head has just turned streaming: the others cannot get back what they dropped)
                assertThat(cacheTotal).as("duo after %d", seen).isLessThanOrEqualTo((long) heads * budget.keep(seen));
            }
            assertThat(pool.usedBlocks()).isEqualTo(blocks).isLessThanOrEqualTo(pool.capacityBlocks());
        }
    }

    /** Attention of the query head at {@code q[qOff..]} over the keys {@code visible} of KV head {@code h}, in double. */
    private static float[] naive(LlamaConfig c, float[] q, int qOff, float[] k, float[] v, int h, int[] visible) {
        double[] s = new double[visible.length];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < visible.length; i++) {
            int at = visible[i] * c.kvDim() + h * HS;
            for (int j = 0; j < HS; j++) {
                s[i] += (double) q[qOff + j] * k[at + j];
            }
            s[i] /= Math.sqrt(HS);
            max = Math.max(max, s[i]);
        }
        double sum = 0;
        for (int i = 0; i < s.length; i++) {
            s[i] = Math.exp(s[i] - max);
            sum += s[i];
        }
        float[] out = new float[HS];
        for (int j = 0; j < HS; j++) {
            double o = 0;
            for (int i = 0; i < visible.length; i++) {
                o += s[i] / sum * v[visible[i] * c.kvDim() + h * HS + j];
            }
            out[j] = (float) o;
        }
        return out;
    }

    static Stream<Arguments> policiesAndTypes() {
        return KvPolicies.NAMES.stream()
                .flatMap(p -> Stream.of(Arguments.of(p, KvType.F32), Arguments.of(p, KvType.F16)));
    }

    /**
     * The model's forward pass with each policy at ratio 4 over a 512-token run (prefill in batches of 32, then
     * decode): each head keeps ceil(seen / 4) tokens, so the ratio is 4 up to rounding (SnapKV while decoding holds
     * up to a block less one more; the policies sharing a budget hold it in total), whatever the element type. KVzip
     * replays 32 prompt tokens before decoding.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("policiesAndTypes")
    void theAchievedCompressionRatioMeetsTheTarget(String name, KvType type) {
        Model m = Llama2cCheckpoint.load(Fixtures.path("stories260K/stories260K.bin"));
        int tokens = m.config().contextLength(), prompt = 200;
        double target = 4;
        PagedKvCache cache = new PagedKvCache(
                m.config().kvShape(),
                new BlockPool(m.config().headSize(), Kernels.lanes(), 1L << 26, type),
                tokens,
                spec(name, KvBudget.ofRatio(target), KvPolicies.Options.DEFAULTS));
        int[] ids =
                new SplittableRandom(4).ints(tokens, 1, m.config().vocabSize()).toArray();
        m.forward(m.newState(32), ids, 0, prompt, 0, cache);
        if (cache.replaysContext()) {
            // KVzip: 32 tokens replayed after the prompt, then compression to the budget
            cache.beginReplay();
            m.forward(m.newState(32), ids, 0, 32, prompt, cache);
            cache.endReplay();
        }
        Model.State s = m.newState(1);
        for (int pos = prompt; pos < tokens; pos++) {
            m.forward(s, ids, pos, 1, pos, cache);
        }
        int keep = (int) Math.ceil(tokens / target), slack = 0;
        long total = 0;
        for (int l = 0; l < m.config().layers(); l++) {
            for (int h = 0; h < m.config().kvHeads(); h++) {
                assertThat(cache.seenTokens(l, h)).isEqualTo(tokens);
                total += cache.liveTokens(l, h);
                if (!shared(name)) {
                    assertThat(cache.liveTokens(l, h)).isBetween(keep, keep + slack);
                }
            }
        }
        int heads = m.config().layers() * m.config().kvHeads();
        assertThat(total).isBetween(name.equals("duo") ? 1 : (long) heads * keep, (long) heads * keep);
        if (name.equals("duo")) {
            assertThat(cache.compressionRatio()).isGreaterThanOrEqualTo(target);
            return;
        }
        assertThat(cache.compressionRatio()).isBetween(tokens / (double) (keep + slack), target);
        if (slack == 0) {
            assertThat(cache.compressionRatio()).isEqualTo(target);
        }
    }
}
