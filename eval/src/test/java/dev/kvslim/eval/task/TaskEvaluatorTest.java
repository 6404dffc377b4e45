package dev.kvslim.eval.task;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.generate.Generator;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.SamplingParams;
import dev.kvslim.core.testing.DmsAdapters;
import dev.kvslim.core.tokenizer.Tokenizer;
import dev.kvslim.eval.cache.CacheSpec;
import dev.kvslim.eval.testing.TinyModels;
import dev.kvslim.tasks.Sample;
import dev.kvslim.tasks.Split;
import dev.kvslim.tasks.Task;
import dev.kvslim.tasks.synthetic.TaskSuite;
import dev.kvslim.tasks.tokenizer.DemoTokenizer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The evaluation loop's mechanics on a tiny random model: what it generates, measures and scores. */
class TaskEvaluatorTest {

    private static final Model MODEL = TinyModels.random(7);
    private static final Tokenizer TOKENIZER = DemoTokenizer.tokenizer();
    private static final Task NEEDLE = TaskSuite.named("needle");

    private static TaskEvaluator evaluator(Model model, int samples, int lanes) {
        return new TaskEvaluator(model, TOKENIZER, TOKENIZER::isEndOfGeneration,
                new TaskEvaluator.Settings(TinyModels.CONTEXT, samples, 3, lanes, 8, KvType.F32));
    }

    /** Tokens the cache was given: the prompt and every generated token fed back (the last one is fed only on EOS). */
    private static long seen(SampleOutcome o) {
        int fed = o.stop() == SampleOutcome.Stop.END_OF_GENERATION ? o.generated().length : o.generated().length - 1;
        return o.promptTokens() + fed;
    }

    @Test
    void policyNoneGeneratesWhatTheGreedyGeneratorDoes() {
        Generator generator = new Generator(MODEL, TOKENIZER);
        for (int lanes : new int[] {1, 3}) {
            TaskRun run = evaluator(MODEL, 5, lanes).run(NEEDLE, CacheSpec.none());
            assertThat(run.outcomes()).hasSize(5).anyMatch(o -> o.generated().length >= 3);
            for (SampleOutcome o : run.outcomes()) {
                int[] prompt = TOKENIZER.encode(o.sample().prompt(), true);
                int maxNew = TOKENIZER.encode(o.sample().target(), false).length + 8;
                Generator.Result expected = generator.generate(prompt, new Generator.Options(maxNew,
                        SamplingParams.GREEDY, List.of("\n"), false, 4096), MODEL.newDenseCache(TinyModels.CONTEXT),
                        (b, off, len) -> { });
                assertThat(o.promptTokens()).isEqualTo(prompt.length);
                assertThat(o.generated()).as("lanes %d, seed %d", lanes, o.sample().seed())
                        .containsExactly(expected.generated());
                assertThat(o.text()).isEqualTo(TOKENIZER.decode(expected.generated()));
            }
        }
    }

    @Test
    void uncompressedPeakIsEveryTokenSeenAndTheRatioIsOne() {
        LlamaConfig c = MODEL.config();
        TaskRun run = evaluator(MODEL, 4, 4).run(NEEDLE, CacheSpec.none());
        for (SampleOutcome o : run.outcomes()) {
            assertThat(o.compressionRatio()).isEqualTo(1.0);
            assertThat(o.kvBytesPeak()).isEqualTo(seen(o) * c.kvBytesPerToken(Float.BYTES));
        }
        assertThat(run.kvBytesPeak()).isEqualTo(run.outcomes().stream().mapToLong(SampleOutcome::kvBytesPeak).max()
                .orElseThrow());
        assertThat(run.achievedRatio()).isEqualTo(1.0);
    }

    @Test
    void baselineKeepsCeilOfSeenOverRatioPerHead() {
        LlamaConfig c = MODEL.config();
        TaskRun run = evaluator(MODEL, 4, 2).run(NEEDLE, CacheSpec.baseline("h2o", 4));
        long bytesPerHeadToken = 2L * c.headSize() * Float.BYTES;
        double ratios = 0;
        for (SampleOutcome o : run.outcomes()) {
            long seen = seen(o);
            long kept = (seen + 3) / 4;
            assertThat(o.compressionRatio()).isCloseTo(seen / (double) kept, within(1e-9));
            assertThat(o.kvBytesPeak()).isEqualTo(c.layers() * c.kvHeads() * kept * bytesPerHeadToken);
            ratios += o.compressionRatio();
        }
        assertThat(run.achievedRatio()).isCloseTo(ratios / 4, within(1e-12));
        assertThat(run.trace().bytes()[0]).as("after prefill").isEqualTo(c.layers() * c.kvHeads()
                * ((run.outcomes().getFirst().promptTokens() + 3) / 4) * bytesPerHeadToken);
    }

    @Test
    void dmsRunsTheModelsLearnedEvictionAndNeedsIt() {
        Model dms = DmsAdapters.withAdapter(MODEL, 4, false, false);
        TaskRun run = evaluator(dms, 2, 2).run(NEEDLE, CacheSpec.dms());
        assertThat(run.achievedRatio()).isGreaterThan(1.2);
        assertThat(run.toResult("m", TinyModels.CONTEXT, 3).targetRatio()).isNull();
        assertThatThrownBy(() -> evaluator(MODEL, 1, 1).run(NEEDLE, CacheSpec.dms()))
                .hasMessageContaining("retrofitted with DMS");
    }

    @Test
    void samplesAreHeldOutAndDifferPerRunSeed() {
        assertThat(TaskEvaluator.sampleSeed(0, 0)).isEqualTo(Split.EVAL.seed(0));
        assertThat(TaskEvaluator.sampleSeed(2, 5)).isEqualTo(Split.EVAL.seed(2L * (1 << 20) + 5));
        List<Sample> samples = evaluator(MODEL, 3, 1).samples(NEEDLE);
        assertThat(samples).extracting(Sample::seed).allMatch(s -> Split.of(s) == Split.EVAL).doesNotHaveDuplicates();
        assertThat(samples).allMatch(s -> s.byteLevelTokens() == TinyModels.CONTEXT);
    }

    @Test
    void accuracyCountsWhatTheTasksScorerAccepts() {
        // a task that accepts any generation of an even length: the accuracy is what its scorer says
        Task evenLines = new Task() {
            @Override
            public String name() {
                return "even";
            }

            @Override
            public Sample generate(long seed, int contextTokens) {
                return NEEDLE.generate(seed, contextTokens);
            }

            @Override
            public boolean score(Sample sample, String generated) {
                return generated.length() % 2 == 0;
            }
        };
        TaskRun run = evaluator(MODEL, 6, 3).run(evenLines, CacheSpec.none());
        long even = run.outcomes().stream().filter(o -> o.text().length() % 2 == 0).count();
        assertThat(even).as("the random model's lengths vary").isBetween(1L, 5L);
        assertThat(run.correct()).isEqualTo(even);
        assertThat(run.accuracy()).isEqualTo(even / 6.0);
    }

    @Test
    void theTasksScorerJudgesFinalAnswers() {
        Sample s = NEEDLE.generate(TaskEvaluator.sampleSeed(0, 0), TinyModels.CONTEXT);
        assertThat(NEEDLE.score(s, s.target())).isTrue();
        assertThat(NEEDLE.score(s, s.target().strip() + "1\n")).isFalse();
        assertThat(NEEDLE.score(s, "")).isFalse();
    }

    @Test
    void refusesTokenizersWithoutBosOrEos() {
        Tokenizer noBos = new DelegatingTokenizer(TOKENIZER) {
            @Override
            public int bosId() {
                return -1;
            }
        };
        assertThatThrownBy(() -> new TaskEvaluator(MODEL, noBos, noBos::isEndOfGeneration,
                new TaskEvaluator.Settings(TinyModels.CONTEXT, 1, 0, 1, 8, KvType.F32)))
                .hasMessageContaining("BOS and EOS").hasMessageContaining("no BOS");
    }

    @Test
    void refusesAContextTooShortForTheTask() {
        TaskEvaluator e = new TaskEvaluator(MODEL, TOKENIZER, TOKENIZER::isEndOfGeneration,
                new TaskEvaluator.Settings(20, 1, 0, 1, 8, KvType.F32));
        assertThatThrownBy(() -> e.run(NEEDLE, CacheSpec.none())).hasMessageContaining("too short for task needle");
    }
}
