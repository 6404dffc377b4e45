package dev.kvslim.core.generate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.sample.SamplingParams;
import dev.kvslim.core.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shared step: what a plan takes, and that sequences stepped together generate what each generates alone. */
class BatchStepTest {

    private static final LoadedModel STORIES =
            ModelLoader.load(Fixtures.path("stories260K/stories260K.bin"), Fixtures.path("stories260K/tok512.bin"));

    private static Generation<KvCache> sequence(String prompt, int maxTokens) {
        int[] tokens = STORIES.tokenizer().encode(prompt, true);
        Decoding d = new Decoding(
                new Sampler(SamplingParams.GREEDY, STORIES.model().config().vocabSize()),
                STORIES.tokenizer(),
                STORIES.tokenizer()::isEndOfGeneration,
                List.of(),
                tokens,
                maxTokens,
                256,
                (b, off, len) -> {});
        Generation<KvCache> g = new Generation<>(tokens, maxTokens, d);
        g.attach(STORIES.model().newDenseCache(256), 0);
        return g;
    }

    @Test
    void aPlanTakesDecodeTokensFirstThenPromptChunksWithinTheBudget() {
        Generation<KvCache> a = sequence("Once upon a time there was a little girl", 5);
        Generation<KvCache> b = sequence("The dog", 5);
        Generation<KvCache> decoding = sequence("Hi", 5);
        Model.State state = STORIES.model().newState(64);
        // run "Hi" and sample its first token: it now has one token pending
        BatchStep.Plan<Generation<KvCache>> first = BatchStep.plan(List.of(decoding), 64);
        assertThat(decoding.decode(BatchStep.forward(STORIES.model(), state, first)[0]))
                .isNull();
        assertThat(decoding.pending()).isEqualTo(1);

        BatchStep.Plan<Generation<KvCache>> plan = BatchStep.plan(List.of(a, b, decoding), 6);
        assertThat(plan.sequences()).containsExactly(decoding, a);
        assertThat(plan.chunks()).extracting(Model.Chunk::len).containsExactly(1, 5);
        assertThat(plan.chunks().get(1).off()).isZero();
        BatchStep.forward(STORIES.model(), state, plan);
        assertThat(a.cached()).isEqualTo(5);
        assertThat(a.pending()).isEqualTo(a.length() - 5);
        List<Generation<KvCache>> ready = new ArrayList<>();
        BatchStep.ready(plan, new float[2][], (s, logits) -> ready.add(s));
        assertThat(ready).containsExactly(decoding);
    }

    @Test
    void sequencesSteppedTogetherGenerateWhatEachGeneratesAlone() {
        String[] prompts = {"Once upon a time", "The little dog", "Lily and Ben went to the park"};
        List<int[]> alone = new ArrayList<>();
        for (String p : prompts) {
            Generation<KvCache> g = sequence(p, 30);
            Model.State state = STORIES.model().newState(64);
            while (g.decoding().stopReason() == null) {
                float[][] logits = BatchStep.forward(STORIES.model(), state, BatchStep.plan(List.of(g), 64));
                g.decode(logits[0]);
            }
            alone.add(g.decoding().generated());
        }
        List<Generation<KvCache>> all = new ArrayList<>();
        for (String p : prompts) {
            all.add(sequence(p, 30));
        }
        Model.State state = STORIES.model().newState(64);
        List<Generation<KvCache>> running = new ArrayList<>(all);
        while (!running.isEmpty()) {
            BatchStep.Plan<Generation<KvCache>> plan = BatchStep.plan(running, 4); // prompts arrive in chunks
            float[][] logits = BatchStep.forward(STORIES.model(), state, plan);
            BatchStep.ready(plan, logits, (s, l) -> {
                if (s.decode(l) != null) {
                    running.remove(s);
                }
            });
        }
        for (int i = 0; i < prompts.length; i++) {
            assertThat(all.get(i).decoding().generated()).as(prompts[i]).containsExactly(alone.get(i));
        }
    }
}
