package dev.kvslim.eval.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.kv.KvBudget;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvPolicies;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.model.Model;
import dev.kvslim.eval.result.EvalResult;
import dev.kvslim.eval.testing.TinyModels;
import dev.kvslim.tasks.tokenizer.DemoTokenizer;
import java.util.List;
import org.junit.jupiter.api.Test;

class TextEvaluatorTest {

    private static final Model MODEL = TinyModels.random(11);

    private static int[] text() {
        return DemoTokenizer.tokenizer()
                .encode(
                        "Once upon a time there was a tiny model that read a story about"
                                + " caches, and it kept only what it needed to remember.",
                        true);
    }

    @Test
    void keepingEveryTokenMovesNothingAndEvictingDoes() {
        int[] tokens = text();
        List<EvalResult> rs = new TextEvaluator(MODEL, new TextEvaluator.Settings(4, 0, KvType.F32))
                .run(
                        "tiny",
                        "story.txt",
                        TextEvaluator.windows(tokens, 64),
                        List.of(
                                new KvCacheSpec.Evicting(KvPolicies.of("h2o", KvBudget.ofRatio(1))),
                                new KvCacheSpec.Evicting(KvPolicies.of("streaming", KvBudget.ofRatio(4)))));
        assertThat(rs).hasSize(2);
        EvalResult keepAll = rs.get(0), streaming = rs.get(1);
        assertThat(keepAll.task()).isEqualTo("text:story.txt");
        assertThat(keepAll.samples()).isEqualTo(tokens.length / 64);
        assertThat(keepAll.kl()).isLessThan(1e-9);
        assertThat(keepAll.perplexity()).isCloseTo(keepAll.perplexityDense(), within(1e-6));
        assertThat(keepAll.achievedRatio()).isEqualTo(1.0);
        assertThat(streaming.kl()).isGreaterThan(1e-4);
        assertThat(streaming.perplexity()).isNotCloseTo(streaming.perplexityDense(), within(1e-4));
        // 63 tokens fed (the last is only predicted), ceil(63 / 4) = 16 kept per head
        assertThat(streaming.achievedRatio()).isCloseTo(63.0 / 16, within(1e-9));
        assertThat(streaming.kvBytesPeak()).isEqualTo(2L * 2 * 16 * 2 * 8 * Float.BYTES);
        assertThat(streaming.accuracy()).isNull();
    }

    /**
     * The reference keeps every token in F32 whatever the type under test, so a cache that keeps every token in a
     * narrower type measures what the rounding alone costs: a little for F16, more for Q8_0, most for Q4_0.
     */
    @Test
    void theReferenceIsF32SoKeepingEveryTokenInANarrowerTypeShowsItsCost() {
        int[] tokens = text();
        double[] kl = new double[4];
        KvType[] types = {KvType.F32, KvType.F16, KvType.Q8_0, KvType.Q4_0};
        for (int i = 0; i < types.length; i++) {
            EvalResult r = new TextEvaluator(MODEL, new TextEvaluator.Settings(4, 0, types[i]))
                    .run("tiny", "story.txt", TextEvaluator.windows(tokens, 64), List.of(KvCacheSpec.keepAll()))
                    .getFirst();
            kl[i] = r.kl();
            assertThat(r.achievedRatio()).isEqualTo(1.0);
        }
        assertThat(kl[0]).isLessThan(1e-9);
        assertThat(kl[1]).isGreaterThan(kl[0]).isLessThan(kl[2]);
        assertThat(kl[2]).isLessThan(kl[3]);
    }

    @Test
    void densePerplexityIsTheModelsOwnOnTheText() {
        int[] tokens = text();
        int[] window = java.util.Arrays.copyOf(tokens, 64);
        // independently: one sequence, dense cache, one token at a time
        KvCache cache = MODEL.newDenseCache(64);
        Model.State state = MODEL.newState(1);
        double nll = 0;
        double[] logP = new double[MODEL.config().vocabSize()];
        for (int t = 0; t + 1 < window.length; t++) {
            float[] logits = MODEL.forward(state, window, t, 1, t, cache);
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (float v : logits) {
                max = Math.max(max, v);
            }
            for (float v : logits) {
                sum += Math.exp(v - max);
            }
            nll -= logits[window[t + 1]] - max - Math.log(sum);
        }
        EvalResult r = new TextEvaluator(MODEL, new TextEvaluator.Settings(1, 0, KvType.F32))
                .run(
                        "tiny",
                        "t",
                        List.of(window),
                        List.of(new KvCacheSpec.Evicting(KvPolicies.of("tova", KvBudget.ofRatio(2)))))
                .getFirst();
        assertThat(r.perplexityDense()).isCloseTo(Math.exp(nll / 63), within(1e-3));
    }

    @Test
    void klOfKnownDistributions() {
        double[] p = {Math.log(0.5), Math.log(0.5)}, q = {Math.log(0.25), Math.log(0.75)};
        // 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75)
        assertThat(TextEvaluator.kl(p, q)).isCloseTo(0.5 * Math.log(2) + 0.5 * Math.log(2.0 / 3), within(1e-12));
        double[] out = new double[3];
        TextEvaluator.logSoftmax(new float[] {0, (float) Math.log(2), (float) Math.log(5)}, out);
        assertThat(Math.exp(out[0])).isCloseTo(0.125, within(1e-7));
        assertThat(Math.exp(out[2])).isCloseTo(0.625, within(1e-7));
    }

    @Test
    void windowsCutTheTextOrTakeItWhole() {
        int[] tokens = new int[10];
        assertThat(TextEvaluator.windows(tokens, 4)).hasSize(2).allMatch(w -> w.length == 4);
        assertThat(TextEvaluator.windows(tokens, 64)).hasSize(1).allMatch(w -> w.length == 10);
        assertThat(TextEvaluator.windows(new int[1], 64)).isEmpty();
        assertThatThrownBy(() -> new TextEvaluator(MODEL, new TextEvaluator.Settings(1, 0, KvType.F32))
                        .run(
                                "m",
                                "empty",
                                List.of(),
                                List.of(new KvCacheSpec.Evicting(KvPolicies.of("h2o", KvBudget.ofRatio(2))))))
                .hasMessageContaining("empty");
    }
}
