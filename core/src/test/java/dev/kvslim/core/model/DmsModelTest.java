package dev.kvslim.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.format.hf.HuggingFaceModels;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.tensor.Kernels;
import dev.kvslim.core.testing.DmsAdapters;
import dev.kvslim.core.testing.ParityFolders;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** DMS decisions inside the forward pass: spec tests T12 (query-channel surgery), T13 (zero adapter), T14 (per layer). */
class DmsModelTest {

    private static final int[] PROMPT = {1, 17, 42, 5, 88, 23, 61, 9, 33, 12, 7, 70, 3, 19, 44, 2, 8, 91, 30, 50};

    private static Model base() {
        return HuggingFaceModels.load(ParityFolders.path("qwen3-f32"));
    }

    static Model withAdapter(Model base, int window, boolean perLayer, boolean zero) {
        return DmsAdapters.withAdapter(base, window, perLayer, zero);
    }

    private static PagedKvCache paged(Model m, boolean dms) {
        return new PagedKvCache(
                m.config().kvShape(),
                new BlockPool(m.config().headSize(), Kernels.lanes(), 1L << 26),
                64,
                dms ? KvCacheSpec.dms(m.config().kvShape()) : KvCacheSpec.keepAll());
    }

    private static float[] run(Model m, KvCache cache, int chunk) {
        Model.State s = m.newState(chunk);
        float[] logits = null;
        for (int pos = 0; pos < PROMPT.length; pos += chunk) {
            int n = Math.min(chunk, PROMPT.length - pos);
            logits = m.forward(s, PROMPT, pos, n, pos, cache);
        }
        return logits.clone();
    }

    @Test
    void t13ZeroAdapterIsTheBaseModelBitForBit() {
        Model base = base();
        Model dms = withAdapter(base, 4, false, true);
        PagedKvCache cache = paged(dms, true);
        assertThat(run(dms, cache, 20)).containsExactly(run(base, paged(base, false), 20));
        assertThat(cache.compressionRatio()).isEqualTo(1.0);
        // eviction off (a dense cache ignores decisions): the base model as well
        assertThat(run(dms, dms.newDenseCache(64), 20)).containsExactly(run(base, base.newDenseCache(64), 20));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 5, 7, 20})
    void chunkedPrefillWithEvictionsIsTheSameForEveryChunkSize(int chunk) {
        Model dms = withAdapter(base(), 3, false, false);
        PagedKvCache one = paged(dms, true);
        float[] whole = run(dms, one, 20);
        assertThat(one.compressionRatio()).isGreaterThan(1.2);
        PagedKvCache cache = paged(dms, true);
        assertThat(run(dms, cache, chunk)).containsExactly(whole, within(1e-5f));
        assertThat(cache.liveTokens(1, 0)).isLessThanOrEqualTo(one.liveTokens(1, 0) + chunk);
        // and eviction changes the answer: the same model without it differs
        assertThat(run(dms, paged(dms, false), 20)).isNotEqualTo(whole);
    }

    @Test
    void t14PerLayerDecisionsFollowHeadZero() {
        Model perHead = withAdapter(base(), 2, false, false);
        Model perLayer = withAdapter(base(), 2, true, false);
        PagedKvCache a = paged(perHead, true), b = paged(perLayer, true);
        run(perHead, a, 20);
        run(perLayer, b, 20);
        assertThat(a.liveTokens(0, 0)).isNotEqualTo(a.liveTokens(0, 1));
        for (int l = 0; l < 2; l++) {
            assertThat(b.liveTokens(l, 1)).isEqualTo(b.liveTokens(l, 0)).isEqualTo(a.liveTokens(l, 0));
        }
    }

    @Test
    void t12QueryChannelSurgery() {
        // one KV head, group of 2, head size 4, rotate-half pairs (0,2) and (1,3)
        LlamaConfig c = LlamaConfig.builder()
                .dim(8)
                .hiddenDim(8)
                .layers(1)
                .heads(2)
                .kvHeads(1)
                .headSize(4)
                .vocabSize(8)
                .contextLength(16)
                .build()
                .withDms(new DmsConfig(2, 100f, 5f, DmsConfig.Variant.QUERY_CHANNEL, false));
        float a = 0.3f, b = -0.7f, cc = 1.1f, e = 0.02f;
        float[] q = {a, b, cc, e, 5f, 6f, 7f, 8f};
        float[] z = new float[1];
        DmsDecisions.fromQueryChannel(q, 0, c, z, 0);
        assertThat(z[0]).isCloseTo(100 * e - 5, within(1e-5f));
        float t0 = 0.4f, t1 = 0.9f;
        float[] cos = {(float) Math.cos(t0), (float) Math.cos(t1)}, sin = {(float) Math.sin(t0), (float) Math.sin(t1)};
        Rope.rotate(q, 0, 2, 4, RopeStyle.HALF, cos, sin, 0);
        DmsDecisions.zeroQueryChannels(q, 0, c);
        assertThat(Arrays.copyOf(q, 4))
                .containsExactly(
                        new float[] {a * cos[0] - cc * sin[0], b * cos[1], cc * cos[0] + a * sin[0], 0f},
                        within(1e-6f));
        // the second head of the group is rotated but otherwise untouched
        float[] other = {5f, 6f, 7f, 8f};
        Rope.rotate(other, 0, 1, 4, RopeStyle.HALF, cos, sin, 0);
        assertThat(Arrays.copyOfRange(q, 4, 8)).containsExactly(other);
    }

    @Test
    void variantAIsNotTheBaseModelEvenWithoutEviction() {
        Model base = base();
        Model a = new Model(
                base.config().withDms(new DmsConfig(4, 100f, 5f, DmsConfig.Variant.QUERY_CHANNEL, false)),
                base.weights());
        assertThat(run(a, a.newDenseCache(64), 20)).isNotEqualTo(run(base, base.newDenseCache(64), 20));
    }
}
