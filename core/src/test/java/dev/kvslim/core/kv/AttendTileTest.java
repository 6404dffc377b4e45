package dev.kvslim.core.kv;

import static dev.kvslim.core.kv.PolicyHarness.gaussian;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.tensor.Kernels;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The tiled attention of a prompt's queries ({@link KvCache#attendTile}: blocks outer, four query heads sharing each
 * key and value read, whole blocks unmasked in a head that never evicted) against one query at a time
 * ({@link KvCache#attend}) on the same cache: the same numbers, bit for bit, for every element type, group size, tile
 * length (short runs of query heads included), a cache that keeps every token (ordered slots, the unmasked path)
 * and one whose random evictions left its slots out of order.
 */
class AttendTileTest {

    static Stream<Arguments> cases() {
        // head sizes: below one vector, four vectors of AVX-512 floats, and not a whole number of vectors
        return Stream.of(KvType.values())
                .flatMap(type -> Stream.of(8, 64, 72)
                        .flatMap(hs -> Stream.of(1, 3, 4)
                                .flatMap(group -> Stream.of(1, 7, KvCache.TILE)
                                        .flatMap(count -> Stream.of(false, true)
                                                .map(evicts -> Arguments.of(type, hs, group, count, evicts))))));
    }

    @ParameterizedTest(name = "{0} head size {1} group {2} tile {3} evicting {4}")
    @MethodSource("cases")
    void aTileAttendsAsItsQueriesOneAtATime(KvType type, int hs, int group, int count, boolean evicts) {
        SplittableRandom rnd =
                new SplittableRandom(type.ordinal() * 10000 + hs * 1000 + group * 100 + count * 2 + (evicts ? 1 : 0));
        LlamaConfig c = LlamaConfig.builder()
                .dim(hs * 2 * group)
                .hiddenDim(16)
                .layers(1)
                .heads(2 * group)
                .kvHeads(2)
                .headSize(hs)
                .vocabSize(16)
                .contextLength(1 << 14)
                .build();
        int tokens = 3 * Kernels.lanes() + 5 + count, before = tokens - count;
        KvCacheSpec.Paged spec = evicts
                ? new KvCacheSpec.Evicting(KvPolicies.of(
                        "random", KvBudget.ofTokens(before / 2), new KvPolicies.Options(4, 0, 32, rnd.nextLong())))
                : KvCacheSpec.keepAll();
        PagedKvCache cache =
                new PagedKvCache(c.kvShape(), new BlockPool(hs, Kernels.lanes(), 1L << 24, type), tokens, spec);
        float[] q = gaussian(rnd, tokens * c.qDim()), k = gaussian(rnd, tokens * c.kvDim());
        float[] v = gaussian(rnd, tokens * c.kvDim());
        for (int pos = 0; pos < before; pos += 9) {
            PolicyHarness.step(cache, c, pos, Math.min(9, before - pos), q, k, v);
        }
        // the last batch: stored, then attended both ways before anything is evicted
        cache.reserve(count);
        float[] kb = java.util.Arrays.copyOfRange(k, before * c.kvDim(), tokens * c.kvDim());
        float[] vb = java.util.Arrays.copyOfRange(v, before * c.kvDim(), tokens * c.kvDim());
        cache.store(0, before, count, kb, vb, null);
        float[] qb = java.util.Arrays.copyOfRange(q, before * c.qDim(), tokens * c.qDim());
        float[] one = new float[count * c.qDim()], tiled = new float[count * c.qDim()];
        float[] scratch = new float[cache.scratchSize()];
        for (int h = 0; h < c.kvHeads(); h++) {
            int at = h * group * hs;
            for (int t = 0; t < count; t++) {
                int off = t * c.qDim() + at;
                cache.attend(0, before + t, h, qb, off, group, one, off, scratch);
            }
            java.util.Arrays.fill(scratch, Float.NaN); // nothing may rely on what the scratch held
            cache.attendTile(0, before, count, h, qb, at, c.qDim(), group, tiled, at, c.qDim(), scratch);
        }
        assertThat(tiled).containsExactly(one);
        if (evicts) {
            assertThat(PolicyHarness.kept(cache, 0, 0)).hasSizeLessThan(tokens);
        }
    }
}
