package dev.kvslim.core.kv;

import static dev.kvslim.core.kv.PolicyHarness.gaussian;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.tensor.Kernels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DMS eviction in the paged cache against shared/reference/dms-spec.md section 7: the hand-worked window-2 mask
 * (T1), the decode slot trace (T2), chunked prefill for every chunk size (T3), randomised prefill-then-decode
 * against a naive reference of the visibility rule (T4), a list tracker (T5), compression accounting (T15), the
 * window edge (T16) and multi-turn continuation (T17).
 */
class DmsCacheTest {

    private static final int HS = 8;

    private static LlamaConfig config(int kvHeads, int group, int window) {
        return LlamaConfig.builder()
                .dim(HS * kvHeads * group)
                .hiddenDim(16)
                .layers(1)
                .heads(kvHeads * group)
                .kvHeads(kvHeads)
                .headSize(HS)
                .vocabSize(16)
                .contextLength(1 << 14)
                .build()
                .withDms(new DmsConfig(window, 100f, 5f, DmsConfig.Variant.ADAPTER, false));
    }

    private static PagedKvCache cache(LlamaConfig c, int capacity) {
        return cache(c, capacity, KvType.F32);
    }

    private static PagedKvCache cache(LlamaConfig c, int capacity, KvType type) {
        return new PagedKvCache(
                c.kvShape(),
                new BlockPool(HS, Kernels.lanes(), 1L << 30, type),
                capacity,
                KvCacheSpec.dms(c.kvShape()));
    }

    /** Stores tokens [pos0, pos0+n) of every head and returns each query's attention output (n x qDim). */
    private static float[] step(
            PagedKvCache cache, LlamaConfig c, int pos0, int n, float[] q, float[] k, float[] v, float[] d) {
        int kvDim = c.kvDim(), qDim = c.qDim();
        cache.store(
                0,
                pos0,
                n,
                Arrays.copyOfRange(k, pos0 * kvDim, (pos0 + n) * kvDim),
                Arrays.copyOfRange(v, pos0 * kvDim, (pos0 + n) * kvDim),
                Arrays.copyOfRange(d, pos0 * c.kvHeads(), (pos0 + n) * c.kvHeads()));
        float[] out = new float[n * qDim];
        float[] scratch = new float[cache.scratchSize()];
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < c.kvHeads(); h++) {
                int at = t * qDim + h * c.groupSize() * HS;
                cache.attend(
                        0,
                        pos0 + t,
                        h,
                        Arrays.copyOfRange(q, pos0 * qDim, (pos0 + n) * qDim),
                        at,
                        c.groupSize(),
                        out,
                        at,
                        scratch);
            }
        }
        cache.afterAttention(0, pos0 + n - 1);
        return out;
    }

    /** Keys all zero (equal scores) and value p = one-hot(p): a query's output is 1/|visible| on each visible key. */
    private static float[][] oneHotProblem(int tokens) {
        float[] q = new float[tokens * HS], k = new float[tokens * HS], v = new float[tokens * HS];
        for (int p = 0; p < tokens; p++) {
            v[p * HS + p] = 1f;
        }
        return new float[][] {q, k, v};
    }

    private static float[] decisions(int... d) {
        float[] z = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            z[i] = d[i] == 1 ? 3f : -5f;
        }
        return z;
    }

    private static final int[][] T1_VISIBLE = {{0}, {0, 1}, {0, 1, 2}, {1, 2, 3}, {1, 2, 3, 4}, {1, 3, 4, 5}};

    private static void assertVisible(float[] out, int t, int[] keys) {
        float[] expected = new float[HS];
        for (int key : keys) {
            expected[key] = 1f / keys.length;
        }
        assertThat(Arrays.copyOfRange(out, 0, HS)).as("query %d", t).containsExactly(expected, within(1e-6f));
    }

    @Test
    void t1AndT2HandMaskAndDecodeSlots() {
        LlamaConfig c = config(1, 1, 2);
        PagedKvCache cache = cache(c, 16);
        float[][] p = oneHotProblem(6);
        float[] d = decisions(1, 1, 0, 1, 0, 0);
        int[] live = new int[6];
        for (int t = 0; t < 6; t++) {
            float[] out = step(cache, c, t, 1, p[0], p[1], p[2], d);
            assertVisible(out, t, T1_VISIBLE[t]);
            live[t] = cache.liveTokens(0, 0);
        }
        // live count after each step counts the evicted slot as soon as the next token reuses it
        assertThat(live).containsExactly(1, 2, 3, 3, 4, 4);
        HeadStore head = headOf(cache);
        // T2: t3 overwrote t0's slot 0, t5 overwrote t2's slot 2
        assertThat(IntStream.range(0, head.slots()).map(head::position).toArray())
                .containsExactly(3, 1, 5, 4);
        assertThat(cache.compressionRatio()).isCloseTo(1.5, within(1e-12));
    }

    /**
     * FastDMS's rule by hand, w = 2, decisions d = [1, 0, 1, 1, 0, 0] marking their own tokens {0, 2, 3}, a prompt of
     * four tokens prefilled in one batch, then two decoded tokens. The prompt is dense: query 3 sees 0..3, though 0
     * is marked and 3 positions back. Decoding query 4 sees {1, 2, 3, 4} (0 left the window and is evicted), query 5
     * sees {1, 3, 4, 5} (2 left it). The same cache cannot be rewound into its past once decoding, only cleared, after
     * which its next prompt is dense again.
     */
    @Test
    void fastDmsMarksTheDecidingTokenAndAttendsThePromptDensely() {
        LlamaConfig c = config(1, 1, 2);
        PagedKvCache cache = new PagedKvCache(
                c.kvShape(), new BlockPool(HS, Kernels.lanes(), 1L << 30), 16, new KvCacheSpec.Dms(2, DmsRule.FASTDMS));
        float[][] p = oneHotProblem(6);
        float[] d = decisions(1, 0, 1, 1, 0, 0);
        float[] prompt = step(cache, c, 0, 4, p[0], p[1], p[2], d);
        for (int t = 0; t < 4; t++) {
            float[] out = Arrays.copyOfRange(prompt, t * c.qDim(), (t + 1) * c.qDim());
            assertVisible(out, t, IntStream.rangeClosed(0, t).toArray());
        }
        assertThat(cache.liveTokens(0, 0)).isEqualTo(4);
        assertThat(cache.canRewind(2)).isTrue(); // still in its prompt: nothing evicted
        assertVisible(step(cache, c, 4, 1, p[0], p[1], p[2], d), 4, new int[] {1, 2, 3, 4});
        assertThat(cache.liveTokens(0, 0)).isEqualTo(4);
        assertVisible(step(cache, c, 5, 1, p[0], p[1], p[2], d), 5, new int[] {1, 3, 4, 5});
        assertThat(cache.liveTokens(0, 0)).isEqualTo(4);
        assertThat(cache.canRewind(4)).isFalse();
        assertThatThrownBy(() -> cache.truncate(4)).hasMessageContaining("cannot rewind");
        cache.truncate(0);
        float[] again = step(cache, c, 0, 4, p[0], p[1], p[2], d);
        assertVisible(Arrays.copyOfRange(again, 3 * c.qDim(), 4 * c.qDim()), 3, new int[] {0, 1, 2, 3});
    }

    private static HeadStore headOf(PagedKvCache cache) {
        try {
            var f = PagedKvCache.class.getDeclaredField("heads");
            f.setAccessible(true);
            return ((HeadStore[][]) f.get(cache))[0][0];
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6})
    void t3ChunkedPrefillGivesTheSameMaskForEveryChunkSize(int chunk) {
        LlamaConfig c = config(1, 1, 2);
        PagedKvCache cache = cache(c, 16);
        float[][] p = oneHotProblem(6);
        float[] d = decisions(1, 1, 0, 1, 0, 0);
        for (int pos0 = 0; pos0 < 6; pos0 += chunk) {
            int n = Math.min(chunk, 6 - pos0);
            float[] out = step(cache, c, pos0, n, p[0], p[1], p[2], d);
            for (int t = 0; t < n; t++) {
                assertVisible(Arrays.copyOfRange(out, t * HS, (t + 1) * HS), pos0 + t, T1_VISIBLE[pos0 + t]);
            }
        }
        // after the last chunk nothing invisible to the next query is kept past its eviction point
        assertThat(cache.liveTokens(0, 0)).isLessThanOrEqualTo(6);
    }

    @Test
    void t16WindowEdgeAt512InPrefillAndDecode() {
        int w = 512;
        LlamaConfig c = config(1, 1, w);
        int tokens = 515;
        float[][] p = new float[][] {new float[tokens * HS], new float[tokens * HS], new float[tokens * HS]};
        for (int t = 0; t < tokens; t++) {
            p[2][t * HS] = t == 0 ? 1f : 0f; // only token 0 carries value on channel 0
        }
        float[] d = new float[tokens];
        Arrays.fill(d, -5f);
        d[1] = 3f; // token 1's decision marks token 0
        for (boolean prefill : new boolean[] {true, false}) {
            PagedKvCache cache = cache(c, tokens);
            float[] out = new float[tokens * HS];
            if (prefill) {
                out = step(cache, c, 0, tokens, p[0], p[1], p[2], d);
            } else {
                for (int t = 0; t < tokens; t++) {
                    System.arraycopy(step(cache, c, t, 1, p[0], p[1], p[2], d), 0, out, t * HS, HS);
                }
            }
            assertThat(out[512 * HS])
                    .as("query 512 sees token 0 (prefill %s)", prefill)
                    .isGreaterThan(0f);
            assertThat(out[513 * HS])
                    .as("query 513 does not (prefill %s)", prefill)
                    .isZero();
        }
    }

    /** The visibility rule of spec section 2.1, applied naively in double precision. */
    private static double[] naive(LlamaConfig c, int tokens, float[] q, float[] k, float[] v, float[] d) {
        int w = c.dms().window(), kvH = c.kvHeads(), g = c.groupSize(), qDim = c.qDim(), kvDim = c.kvDim();
        double[] out = new double[tokens * qDim];
        double scale = 1 / Math.sqrt(HS);
        for (int qp = 0; qp < tokens; qp++) {
            for (int h = 0; h < kvH * g; h++) {
                int kh = h / g;
                double[] s = new double[qp + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int kp = 0; kp <= qp; kp++) {
                    boolean flagged = kp + 1 < tokens && kp + 1 <= qp && d[(kp + 1) * kvH + kh] > 0;
                    if (flagged && qp - kp > w) {
                        s[kp] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double dot = 0;
                    for (int i = 0; i < HS; i++) {
                        dot += (double) q[qp * qDim + h * HS + i] * k[kp * kvDim + kh * HS + i];
                    }
                    s[kp] = dot * scale;
                    max = Math.max(max, s[kp]);
                }
                double sum = 0;
                for (int kp = 0; kp <= qp; kp++) {
                    s[kp] = Math.exp(s[kp] - max);
                    sum += s[kp];
                }
                for (int kp = 0; kp <= qp; kp++) {
                    for (int i = 0; i < HS; i++) {
                        out[qp * qDim + h * HS + i] += s[kp] / sum * v[kp * kvDim + kh * HS + i];
                    }
                }
            }
        }
        return out;
    }

    /** With 16-bit storage the naive rule runs on the keys and values rounded to the type. */
    @ParameterizedTest
    @EnumSource(KvType.class)
    void t4RandomPrefillThenDecodeMatchesTheNaiveRule(KvType type) {
        SplittableRandom rnd = new SplittableRandom(2026);
        for (int trial = 0; trial < 40; trial++) {
            int kvHeads = 1 + rnd.nextInt(3), group = 1 + rnd.nextInt(3), w = rnd.nextInt(40);
            int prompt = 1 + rnd.nextInt(200), decode = 10, tokens = prompt + decode;
            LlamaConfig c = config(kvHeads, group, w);
            float[] q = gaussian(rnd, tokens * c.qDim()), k = gaussian(rnd, tokens * c.kvDim());
            float[] v = gaussian(rnd, tokens * c.kvDim()), d = new float[tokens * kvHeads];
            for (int i = 0; i < d.length; i++) {
                d[i] = rnd.nextDouble() < 0.9 ? 1f : -1f;
            }
            double[] expected = naive(c, tokens, q, KvRounding.round(type, k, HS), KvRounding.round(type, v, HS), d);
            PagedKvCache cache = cache(c, tokens, type);
            int chunk = 1 + rnd.nextInt(prompt);
            float[] got = new float[tokens * c.qDim()];
            for (int pos0 = 0, n; pos0 < tokens; pos0 += n) {
                n = pos0 < prompt ? Math.min(chunk, prompt - pos0) : 1;
                System.arraycopy(step(cache, c, pos0, n, q, k, v, d), 0, got, pos0 * c.qDim(), n * c.qDim());
            }
            for (int i = 0; i < got.length; i++) {
                assertThat((double) got[i]).as("trial %d value %d", trial, i).isCloseTo(expected[i], within(1e-5));
            }
            // every head keeps at most the window plus its unmarked tokens
            for (int h = 0; h < kvHeads; h++) {
                int unmarked = 0;
                for (int p = 0; p < tokens; p++) {
                    unmarked += p + 1 < tokens && d[(p + 1) * kvHeads + h] > 0 ? 0 : 1;
                }
                assertThat(cache.liveTokens(0, h)).isLessThanOrEqualTo(unmarked + w + 1);
            }
        }
    }

    /** A fork (blocks shared until written) and a copy (blocks copied at once) alike. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aForkedOrCopiedDmsCacheGoesOnAsIfItHadComputedThePromptItself(boolean copy) {
        SplittableRandom rnd = new SplittableRandom(17);
        for (int trial = 0; trial < 20; trial++) {
            int kvHeads = 1 + rnd.nextInt(2), group = 1 + rnd.nextInt(2), w = rnd.nextInt(12);
            int prompt = 1 + rnd.nextInt(60), decode = 20, tokens = prompt + decode;
            LlamaConfig c = config(kvHeads, group, w);
            // two problems with the same prompt and different continuations
            float[][][] problems = new float[2][][];
            problems[0] = new float[][] {
                gaussian(rnd, tokens * c.qDim()),
                gaussian(rnd, tokens * c.kvDim()),
                gaussian(rnd, tokens * c.kvDim()),
                new float[tokens * kvHeads]
            };
            for (int i = 0; i < problems[0][3].length; i++) {
                problems[0][3][i] = rnd.nextDouble() < 0.8 ? 1f : -1f;
            }
            problems[1] = new float[4][];
            for (int a = 0; a < 4; a++) {
                problems[1][a] = problems[0][a].clone();
                int per = problems[0][a].length / tokens;
                for (int i = prompt * per; i < problems[1][a].length; i++) {
                    problems[1][a][i] = a == 3 ? (rnd.nextBoolean() ? 1f : -1f) : (float) rnd.nextGaussian();
                }
            }
            BlockPool pool = new BlockPool(HS, Kernels.lanes(), 1L << 30, KvType.F32);
            PagedKvCache first = new PagedKvCache(c.kvShape(), pool, tokens, KvCacheSpec.dms(c.kvShape()));
            float[][] p0 = problems[0];
            step(first, c, 0, prompt, p0[0], p0[1], p0[2], p0[3]);
            int held = pool.usedBlocks();
            PagedKvCache[] caches = {first, copy ? first.copy() : first.fork()};
            assertThat(pool.usedBlocks()).isEqualTo(copy ? 2 * held : held);
            for (int which = 0; which < 2; which++) {
                float[][] p = problems[which];
                double[] expected = naive(c, tokens, p[0], p[1], p[2], p[3]);
                for (int pos = prompt; pos < tokens; pos++) {
                    float[] got = step(caches[which], c, pos, 1, p[0], p[1], p[2], p[3]);
                    for (int i = 0; i < got.length; i++) {
                        assertThat((double) got[i])
                                .as("trial %d, cache %d, position %d", trial, which, pos)
                                .isCloseTo(expected[pos * c.qDim() + i], within(1e-5));
                    }
                }
            }
            first.release();
            caches[1].release();
            assertThat(pool.usedBlocks()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(KvType.class)
    void aDmsCacheCopiedIntoAnotherTypeHoldsWhatThatTypeHoldsWhenGivenTheSameKeysAndValues(KvType type) {
        SplittableRandom rnd = new SplittableRandom(23);
        for (int trial = 0; trial < 10; trial++) {
            int kvHeads = 1 + rnd.nextInt(2), group = 1 + rnd.nextInt(2), w = rnd.nextInt(12);
            int prompt = 1 + rnd.nextInt(60), tokens = prompt + 20;
            LlamaConfig c = config(kvHeads, group, w);
            float[] q = gaussian(rnd, tokens * c.qDim()), k = gaussian(rnd, tokens * c.kvDim());
            float[] v = gaussian(rnd, tokens * c.kvDim()), d = new float[tokens * kvHeads];
            for (int i = 0; i < d.length; i++) {
                d[i] = rnd.nextDouble() < 0.8 ? 1f : -1f;
            }
            PagedKvCache f32 = cache(c, tokens);
            step(f32, c, 0, prompt, q, k, v, d);
            BlockPool target = new BlockPool(HS, Kernels.lanes(), 1L << 30, type);
            PagedKvCache copied = f32.copyInto(target);
            PagedKvCache direct = cache(c, tokens, type);
            step(direct, c, 0, prompt, q, k, v, d);
            for (int pos = prompt; pos < tokens; pos++) {
                float[] got = step(copied, c, pos, 1, q, k, v, d);
                assertThat(got)
                        .as("trial %d, position %d", trial, pos)
                        .containsExactly(step(direct, c, pos, 1, q, k, v, d));
                for (int h = 0; h < kvHeads; h++) {
                    assertThat(copied.liveTokens(0, h)).isEqualTo(direct.liveTokens(0, h));
                }
            }
            assertThat(copied.bytesUsed()).isEqualTo(direct.bytesUsed());
            assertThat(target.usedBlocks() * target.blockBytes()).isEqualTo(copied.bytesUsed());
            copied.release();
            assertThat(target.usedBlocks()).isZero();
        }
    }

    /** Positions up to 150 are exact in every element type, so the carried positions read back exactly. */
    @ParameterizedTest
    @EnumSource(KvType.class)
    void t5StoredTokensFollowTheListTracker(KvType type) {
        SplittableRandom rnd = new SplittableRandom(5);
        for (int trial = 0; trial < 40; trial++) {
            int w = rnd.nextInt(12), tokens = 1 + rnd.nextInt(150);
            LlamaConfig c = config(1, 1, w);
            PagedKvCache cache = cache(c, tokens, type);
            float[] k = new float[tokens * HS], v = new float[tokens * HS], q = new float[tokens * HS];
            for (int t = 0; t < tokens; t++) {
                k[t * HS] = t; // key and value carry their position, to show nothing is lost, mixed up or corrupted
                v[t * HS + 1] = t;
            }
            float[] rk = KvRounding.round(type, k, HS), rv = KvRounding.round(type, v, HS);
            float[] d = new float[tokens];
            for (int t = 0; t < tokens; t++) {
                d[t] = rnd.nextBoolean() ? 1f : -1f;
            }
            // the tracker of spec T5: appending s sets the previous element's flag to e_s, appends s unflagged, then
            // deletes the element W = w+1 back if it is flagged
            List<int[]> tracker = new ArrayList<>();
            int pos0 = 0;
            while (pos0 < tokens) {
                int n = 1 + rnd.nextInt(Math.min(5, tokens - pos0));
                step(cache, c, pos0, n, q, k, v, d);
                for (int t = pos0; t < pos0 + n; t++) {
                    if (!tracker.isEmpty()) {
                        tracker.getLast()[1] = d[t] > 0 ? 1 : 0;
                    }
                    tracker.add(new int[] {t, 0});
                    if (tracker.size() > w + 1 && tracker.get(tracker.size() - (w + 2))[1] == 1) {
                        tracker.remove(tracker.size() - (w + 2));
                    }
                }
                pos0 += n;
                int last = pos0 - 1;
                // the cache evicts a batch's leavers before the next batch; those aside, it holds what the tracker
                // holds
                HeadStore head = headOf(cache);
                List<Integer> stored = new ArrayList<>();
                for (int slot = 0; slot < head.slots(); slot++) {
                    int p = head.position(slot);
                    if (p >= 0) {
                        assertThat(storedKey(head, slot)).containsExactly(rk[p * HS], rv[p * HS + 1]);
                        if (!(head.flag(slot) == 1 && p <= last - w - 1)) {
                            stored.add(p);
                        }
                    }
                }
                stored.sort(null);
                assertThat(stored)
                        .as("trial %d after %d tokens", trial, pos0)
                        .containsExactlyElementsOf(
                                tracker.stream().map(e -> e[0]).toList());
                for (int[] e : tracker) {
                    if (e[0] < last) {
                        int slot = slotOf(head, e[0]);
                        assertThat(head.flag(slot)).as("flag of %d", e[0]).isEqualTo((byte) e[1]);
                    }
                }
                assertThat(head.flag(slotOf(head, last))).isZero();
            }
        }
    }

    private static int slotOf(HeadStore head, int position) {
        for (int slot = 0; slot < head.slots(); slot++) {
            if (head.position(slot) == position) {
                return slot;
            }
        }
        throw new AssertionError("position " + position + " not stored");
    }

    /** Channel 0 of the key and channel 1 of the value of a slot, read back from its block. */
    private static float[] storedKey(HeadStore head, int slot) {
        return new float[] {head.key(slot, 0), head.value(slot, 1)};
    }

    @Test
    void t15CompressionRatioIsTheInverseOfTheMeanKeptFraction() {
        LlamaConfig two = LlamaConfig.builder()
                .dim(16)
                .hiddenDim(16)
                .layers(2)
                .heads(2)
                .kvHeads(2)
                .headSize(HS)
                .vocabSize(16)
                .contextLength(64)
                .build()
                .withDms(new DmsConfig(0, 100f, 5f, DmsConfig.Variant.ADAPTER, false));
        PagedKvCache cache = new PagedKvCache(
                two.kvShape(), new BlockPool(HS, Kernels.lanes(), 1L << 20), 16, KvCacheSpec.dms(two.kvShape()));
        // 6 tokens; keep 4/6, 6/6 in layer 0 and 3/6, 3/6 in layer 1 by marking with window 0
        int[][] marks = {{1, 1, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}, {1, 1, 1, 0, 0, 0}, {0, 1, 1, 1, 0, 0}};
        float[] kv = new float[6 * 16];
        for (int layer = 0; layer < 2; layer++) {
            float[] d = new float[7 * 2];
            for (int h = 0; h < 2; h++) {
                int[] m = marks[layer * 2 + h];
                for (int t = 0; t < 6; t++) {
                    d[(t + 1) * 2 + h] = m[t] == 1 ? 1f : -1f;
                }
            }
            cache.store(layer, 0, 6, kv, kv, Arrays.copyOf(d, 12));
            cache.store(layer, 6, 1, new float[16], new float[16], Arrays.copyOfRange(d, 12, 14));
        }
        // seen 7 each; the 7th token makes marks of tokens 0..5 effective with window 0
        assertThat(cache.liveTokens(0, 0)).isEqualTo(5);
        assertThat(cache.liveTokens(0, 1)).isEqualTo(7);
        assertThat(cache.liveTokens(1, 0)).isEqualTo(4);
        assertThat(cache.liveTokens(1, 1)).isEqualTo(4);
        double mean = (5 / 7.0 + 7 / 7.0 + 4 / 7.0 + 4 / 7.0) / 4;
        assertThat(cache.compressionRatio()).isCloseTo(1 / mean, within(1e-12));
    }

    @Test
    void t17MultiTurnContinuesOnTheSameCache() {
        SplittableRandom rnd = new SplittableRandom(17);
        LlamaConfig c = config(2, 2, 6);
        int tokens = 90;
        float[] q = gaussian(rnd, tokens * c.qDim()), k = gaussian(rnd, tokens * c.kvDim());
        float[] v = gaussian(rnd, tokens * c.kvDim()), d = new float[tokens * 2];
        for (int i = 0; i < d.length; i++) {
            d[i] = rnd.nextDouble() < 0.7 ? 1f : -1f;
        }
        double[] expected = naive(c, tokens, q, k, v, d);
        PagedKvCache cache = cache(c, tokens);
        // prompt A (30, one chunk), 20 decode steps, prompt B (25 in chunks of 7), 15 decode steps
        int[][] plan = {{0, 30}, {30, 1}, {50, 25}, {75, 1}};
        float[] got = new float[tokens * c.qDim()];
        int pos = 0;
        for (int[] phase : plan) {
            int end = phase == plan[0] ? 30 : phase == plan[1] ? 50 : phase == plan[2] ? 75 : 90;
            int chunk = phase[1] == 1 ? 1 : phase == plan[2] ? 7 : 30;
            while (pos < end) {
                int n = Math.min(chunk, end - pos);
                System.arraycopy(step(cache, c, pos, n, q, k, v, d), 0, got, pos * c.qDim(), n * c.qDim());
                pos += n;
            }
        }
        for (int i = 0; i < got.length; i++) {
            assertThat((double) got[i]).isCloseTo(expected[i], within(1e-5));
        }
        assertThat(cache.compressionRatio()).isGreaterThan(1.5);
        assertThatThrownBy(() -> cache.truncate(40)).hasMessageContaining("cannot rewind");
    }
}
