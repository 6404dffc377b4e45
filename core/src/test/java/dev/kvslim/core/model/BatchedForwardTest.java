package dev.kvslim.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.format.hf.HuggingFaceModels;
import dev.kvslim.core.format.llama2c.Llama2cCheckpoint;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvBudget;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvPolicies;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.tensor.Kernels;
import dev.kvslim.core.testing.DmsAdapters;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.core.testing.ParityFolders;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A batch of sequences through {@link Model#forward(Model.State, List)} gives each sequence the logits it gets from
 * separate {@link Model#forward(Model.State, int[], int, int, int, KvCache)} calls with the same chunks. Batches mix
 * prefill chunks and decode steps, so a decode token runs through the batch's matrix-matrix products while alone it
 * runs through dot products (another summation order): logits agree within 1e-5 of the largest logit's magnitude,
 * not bit for bit.
 */
class BatchedForwardTest {

    /** Three sequences; each step gives some of them a chunk of this many tokens (0: not in this step). */
    private static final int[][] STEPS = {
        {6, 7, 0}, // two prefill chunks
        {4, 1, 0}, // prefill continues next to a decode step
        {1, 1, 5}, // two decodes and a new prompt
        {1, 1, 1}, // all decode
        {3, 0, 2}, // a sequence sits out
        {1, 1, 1},
    };

    private static final float TOLERANCE = 1e-5f;

    private static int[][] tokens(int vocab) {
        SplittableRandom rnd = new SplittableRandom(7);
        int[][] t = new int[STEPS[0].length][];
        for (int s = 0; s < t.length; s++) {
            int total = 0;
            for (int[] step : STEPS) {
                total += step[s];
            }
            t[s] = new int[total];
            t[s][0] = 1;
            for (int i = 1; i < total; i++) {
                t[s][i] = rnd.nextInt(2, vocab);
            }
        }
        return t;
    }

    /** Runs the steps batched and separately on fresh caches from {@code caches}; asserts every step's logits agree. */
    private static void assertBatchMatchesSeparate(Model m, Function<Model, KvCache> caches) {
        int[][] tokens = tokens(m.config().vocabSize());
        int n = tokens.length;
        KvCache[] batched = new KvCache[n], alone = new KvCache[n];
        for (int s = 0; s < n; s++) {
            batched[s] = caches.apply(m);
            alone[s] = caches.apply(m);
        }
        Model.State batchState = m.newState(16);
        Model.State aloneState = m.newState(16);
        int[] position = new int[n];
        int compared = 0;
        for (int[] step : STEPS) {
            List<Model.Chunk> chunks = new ArrayList<>();
            List<Integer> who = new ArrayList<>();
            for (int s = 0; s < n; s++) {
                if (step[s] > 0) {
                    chunks.add(new Model.Chunk(batched[s], tokens[s], position[s], step[s], position[s]));
                    who.add(s);
                }
            }
            float[][] logits = m.forward(batchState, chunks);
            assertThat(logits.length).isEqualTo(chunks.size());
            for (int i = 0; i < who.size(); i++) {
                int s = who.get(i);
                float[] expected = m.forward(aloneState, tokens[s], position[s], step[s], position[s], alone[s]);
                assertClose(logits[i], expected, "sequence " + s + " at position " + position[s]);
                position[s] += step[s];
                compared++;
            }
        }
        assertThat(compared).isEqualTo(15);
    }

    /** Every logit within {@link #TOLERANCE} of the expected one, relative to the largest magnitude (at least 1). */
    private static void assertClose(float[] actual, float[] expected, String what) {
        assertThat(actual.length).isEqualTo(expected.length);
        float scale = 1f, worst = 0f;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        assertThat(worst).as(what).isLessThanOrEqualTo(TOLERANCE * scale);
    }

    private static Model stories() {
        return Llama2cCheckpoint.load(Fixtures.path("stories260K/stories260K.bin"));
    }

    private static Model qwen3() {
        return HuggingFaceModels.load(ParityFolders.path("qwen3-f32"));
    }

    private static PagedKvCache paged(Model m, boolean dms) {
        return new PagedKvCache(
                m.config().kvShape(),
                new BlockPool(m.config().headSize(), Kernels.lanes(), 1L << 24),
                64,
                dms ? KvCacheSpec.dms(m.config().kvShape()) : KvCacheSpec.keepAll());
    }

    @Test
    void denseCachesWithGroupedQueryAttention() {
        Model m = stories();
        assertThat(m.config().groupSize()).isEqualTo(2);
        assertBatchMatchesSeparate(m, model -> model.newDenseCache(64));
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-f32", "qwen2-f32", "qwen3-f32", "mistral-f32"})
    void pagedCachesOfTheParityModels(String folder) {
        assertBatchMatchesSeparate(HuggingFaceModels.load(ParityFolders.path(folder)), model -> paged(model, false));
    }

    @Test
    void dmsModelEvictsPerSequence() {
        Model dms = DmsAdapters.withAdapter(qwen3(), 2, false, false);
        List<PagedKvCache> made = new ArrayList<>();
        assertBatchMatchesSeparate(dms, model -> {
            PagedKvCache c = paged(model, true);
            made.add(c);
            return c;
        });
        // eviction happened, so the test compared compressed caches
        assertThat(made.getFirst().compressionRatio()).isGreaterThan(1.0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2o", "snapkv", "tova", "streaming", "knorm", "keydiff"})
    void evictionPolicies(String policy) {
        List<PagedKvCache> made = new ArrayList<>();
        assertBatchMatchesSeparate(qwen3(), model -> {
            PagedKvCache c = new PagedKvCache(
                    model.config().kvShape(),
                    new BlockPool(model.config().headSize(), Kernels.lanes(), 1L << 24),
                    64,
                    new KvCacheSpec.Evicting(KvPolicies.of(policy, KvBudget.ofTokens(6))));
            made.add(c);
            return c;
        });
        // the policy evicted, so the test compared compressed caches
        assertThat(made.getFirst().liveTokens(0, 0))
                .isLessThan((int) made.getFirst().seenTokens(0, 0));
    }

    @Test
    void aBatchOfOneIsTheSingleSequencePassBitForBit() {
        Model m = stories();
        int[] prompt = tokens(m.config().vocabSize())[0];
        KvCache a = m.newDenseCache(64), b = m.newDenseCache(64);
        Model.State sa = m.newState(8), sb = m.newState(8);
        float[] expected = m.forward(sa, prompt, 0, 5, 0, a).clone();
        assertThat(m.forward(sb, List.of(new Model.Chunk(b, prompt, 0, 5, 0)))[0])
                .containsExactly(expected);
        expected = m.forward(sa, prompt, 5, 1, 5, a).clone();
        assertThat(m.forward(sb, List.of(new Model.Chunk(b, prompt, 5, 1, 5)))[0])
                .containsExactly(expected);
    }

    @Test
    void rejectsBadBatchesBeforeTouchingAnyCache() {
        Model m = stories();
        int[] t = {1, 2, 3, 4, 5};
        KvCache a = m.newDenseCache(8), b = m.newDenseCache(8);
        Model.State s = m.newState(4);
        assertThatThrownBy(() -> m.forward(s, List.of(new Model.Chunk(a, t, 0, 3, 0), new Model.Chunk(b, t, 0, 2, 0))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1 to 4 tokens");
        assertThatThrownBy(() -> m.forward(s, List.of(new Model.Chunk(a, t, 0, 1, 0), new Model.Chunk(a, t, 1, 1, 1))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("share one KV cache");
        assertThatThrownBy(() -> m.forward(s, List.of(new Model.Chunk(a, t, 0, 1, 0), new Model.Chunk(b, t, 0, 2, 7))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sequence 1: positions 7..8");
        assertThatThrownBy(() -> m.forward(s, List.of(new Model.Chunk(a, new int[] {600}, 0, 1, 0))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token id 600");
        assertThatThrownBy(() -> m.forward(s, List.of())).isInstanceOf(IllegalArgumentException.class);
    }
}
