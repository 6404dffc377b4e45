package dev.kvslim.eval.task;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.generate.Generator;
import dev.kvslim.core.kv.KvBudget;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvPolicies;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.SamplingParams;
import dev.kvslim.core.testing.DmsAdapters;
import dev.kvslim.core.tokenizer.Tokenizer;
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
        return new TaskEvaluator(
                model,
                TOKENIZER,
                TOKENIZER::isEndOfGeneration,
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
            TaskRun run = evaluator(MODEL, 5, lanes).run(NEEDLE, KvCacheSpec.keepAll());
            assertThat(run.outcomes()).hasSize(5).anyMatch(o -> o.generated().length >= 3);
            for (SampleOutcome o : run.outcomes()) {
                int[] prompt = TOKENIZER.encode(o.sample().prompt(), true);
                int maxNew = TOKENIZER.encode(o.sample().target(), false).length + 8;
                Generator.Result expected = generator.generate(
                        prompt,
                        new Generator.Options(maxNew, SamplingParams.GREEDY, List.of("\n"), false, 4096),
                        MODEL.newDenseCache(TinyModels.CONTEXT),
                        (b, off, len) -> {});
                assertThat(o.promptTokens()).isEqualTo(prompt.length);
                assertThat(o.generated())
                        .as("lanes %d, seed %d", lanes, o.sample().seed())
                        .containsExactly(expected.generated());
                assertThat(o.text()).isEqualTo(TOKENIZER.decode(expected.generated()));
            }
        }
    }

    @Test
    void uncompressedPeakIsEveryTokenSeenAndTheRatioIsOne() {
        LlamaConfig c = MODEL.config();
        TaskRun run = evaluator(MODEL, 4, 4).run(NEEDLE, KvCacheSpec.keepAll());
        for (SampleOutcome o : run.outcomes()) {
            assertThat(o.compressionRatio()).isEqualTo(1.0);
            assertThat(o.kvBytesPeak()).isEqualTo(seen(o) * c.kvBytesPerToken(KvType.F32));
        }
        assertThat(run.kvBytesPeak())
                .isEqualTo(run.outcomes().stream()
                        .mapToLong(SampleOutcome::kvBytesPeak)
                        .max()
                        .orElseThrow());
        assertThat(run.achievedRatio()).isEqualTo(1.0);
    }

    @Test
    void baselineKeepsCeilOfSeenOverRatioPerHead() {
        LlamaConfig c = MODEL.config();
        TaskRun run =
                evaluator(MODEL, 4, 2).run(NEEDLE, new KvCacheSpec.Evicting(KvPolicies.of("h2o", KvBudget.ofRatio(4))));
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
        assertThat(run.trace().bytes()[0])
                .as("after prefill")
                .isEqualTo(c.layers()
                        * c.kvHeads()
                        * ((run.outcomes().getFirst().promptTokens() + 3) / 4)
                        * bytesPerHeadToken);
    }

    @Test
    void dmsRunsTheModelsLearnedEvictionAndNeedsIt() {
        Model dms = DmsAdapters.withAdapter(MODEL, 4, false, false);
        TaskRun run =
                evaluator(dms, 2, 2).run(NEEDLE, KvCacheSpec.dms(dms.config().kvShape()));
        assertThat(run.achievedRatio()).isGreaterThan(1.2);
        assertThat(run.toResult("m", TinyModels.CONTEXT, 3).targetRatio()).isNull();
        assertThatThrownBy(() -> evaluator(MODEL, 1, 1)
                        .run(NEEDLE, KvCacheSpec.dms(MODEL.config().kvShape())))
                .hasMessageContaining("retrofitted with DMS");
    }

    @Test
    void samplesAreHeldOutAndDifferPerRunSeed() {
        assertThat(TaskEvaluator.sampleSeed(0, 0)).isEqualTo(Split.EVAL.seed(0));
        assertThat(TaskEvaluator.sampleSeed(2, 5)).isEqualTo(Split.EVAL.seed(2L * (1 << 20) + 5));
        List<Sample> samples = evaluator(MODEL, 3, 1).samples(NEEDLE);
        assertThat(samples)
                .extracting(Sample::seed)
                .allMatch(s -> Split.of(s) == Split.EVAL)
                .doesNotHaveDuplicates();
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
        TaskRun run = evaluator(MODEL, 6, 3).run(evenLines, KvCacheSpec.keepAll());
        long even =
                run.outcomes().stream().filter(o -> o.text().length() % 2 == 0).count();
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
        assertThatThrownBy(() -> new TaskEvaluator(
                        MODEL,
                        noBos,
                        noBos::isEndOfGeneration,
                        new TaskEvaluator.Settings(TinyModels.CONTEXT, 1, 0, 1, 8, KvType.F32)))
                .hasMessageContaining("BOS and EOS")
                .hasMessageContaining("no BOS");
    }

    @Test
    void refusesAContextTooShortForTheTask() {
        TaskEvaluator e = new TaskEvaluator(
                MODEL, TOKENIZER, TOKENIZER::isEndOfGeneration, new TaskEvaluator.Settings(20, 1, 0, 1, 8, KvType.F32));
        assertThatThrownBy(() -> e.run(NEEDLE, KvCacheSpec.keepAll()))
                .hasMessageContaining("too short for task needle");
    }

    @Test
    void votedGenerationsAreSampledEachFromItsOwnStream() {
        Generator generator = new Generator(MODEL, TOKENIZER);
        TaskEvaluator e = new TaskEvaluator(
                MODEL,
                TOKENIZER,
                TOKENIZER::isEndOfGeneration,
                new TaskEvaluator.Settings(TinyModels.CONTEXT, 3, 3, 4, 8, KvType.F32, 3, 1.0f));
        TaskRun run = e.run(NEEDLE, KvCacheSpec.keepAll());
        assertThat(run.samples()).isEqualTo(3);
        assertThat(run.outcomes()).hasSize(9);
        for (int n = 0; n < 3; n++) {
            List<SampleOutcome> votes = run.generationsOf(n);
            assertThat(votes).extracting(o -> o.sample().seed()).containsOnly(TaskEvaluator.sampleSeed(3, n));
            for (int v = 0; v < 3; v++) {
                SampleOutcome o = votes.get(v);
                int[] prompt = TOKENIZER.encode(o.sample().prompt(), true);
                int maxNew = TOKENIZER.encode(o.sample().target(), false).length + 8;
                Generator.Result expected = generator.generate(
                        prompt,
                        new Generator.Options(
                                maxNew,
                                new SamplingParams(1.0f, 0, 1f, 0f, TaskEvaluator.samplingSeed(3, n, v)),
                                List.of("\n"),
                                false,
                                4096),
                        MODEL.newDenseCache(TinyModels.CONTEXT),
                        (b, off, len) -> {});
                assertThat(o.generated()).as("sample %d vote %d", n, v).containsExactly(expected.generated());
            }
        }
        assertThat(run.outcomes().stream().map(SampleOutcome::text).distinct().count())
                .as("a random model sampled at temperature 1 writes different texts")
                .isGreaterThan(3);
        assertThat(e.run(NEEDLE, KvCacheSpec.keepAll()).outcomes())
                .extracting(SampleOutcome::text)
                .as("and the same ones again")
                .containsExactlyElementsOf(
                        run.outcomes().stream().map(SampleOutcome::text).toList());
        assertThat(run.toResult("m", TinyModels.CONTEXT, 3).votes()).isEqualTo(3);
        assertThat(run.toResult("m", TinyModels.CONTEXT, 3).temperature()).isEqualTo(1.0);
        // with a lane for every generation, each sample's prompt runs once: its other votes fork the first's cache
        TaskEvaluator wide = new TaskEvaluator(
                MODEL,
                TOKENIZER,
                TOKENIZER::isEndOfGeneration,
                new TaskEvaluator.Settings(TinyModels.CONTEXT, 3, 3, 9, 8, KvType.F32, 3, 1.0f));
        TaskRun all = wide.run(NEEDLE, KvCacheSpec.keepAll());
        long prompts = 0;
        for (int n = 0; n < 3; n++) {
            prompts += TOKENIZER.encode(all.generationsOf(n).getFirst().sample().prompt(), true).length;
        }
        assertThat(wide.prefilledTokens).isEqualTo(prompts);
        assertThat(all.outcomes())
                .extracting(SampleOutcome::text)
                .as("forked votes write what votes computing their own prompt write")
                .containsExactlyElementsOf(
                        run.outcomes().stream().map(SampleOutcome::text).toList());
    }

    private static SampleOutcome said(Sample s, String text) {
        return said(NEEDLE, s, text);
    }

    private static SampleOutcome said(Task task, Sample s, String text) {
        return new SampleOutcome(
                s,
                10,
                new int[0],
                text,
                task.answerOf(text),
                task.score(s, text),
                SampleOutcome.Stop.TERMINATOR,
                1,
                100);
    }

    @Test
    void aVotedSampleIsSolvedWhenMostGenerationsGiveItsAnswer() {
        Sample a = new Sample("needle", 1, "p", "KEY=1234\n", "1234");
        Sample b = new Sample("needle", 2, "p", "KEY=5678\n", "5678");
        // a: two of three say 1234 (one of them with other working); b: 5678 once, 1111 twice
        TaskRun run = new TaskRun(
                "needle",
                KvCacheSpec.keepAll(),
                List.of(
                        said(a, "KEY=1234\n"),
                        said(a, "X=9999\n"),
                        said(a, "Y=1234\n"),
                        said(b, "KEY=5678\n"),
                        said(b, "1111\n"),
                        said(b, "Q=1111")),
                3,
                0.7f,
                0,
                0,
                0,
                0,
                null);
        assertThat(run.solved(0)).isTrue();
        assertThat(run.solved(1)).isFalse();
        assertThat(run.correct()).isEqualTo(1);
        assertThat(run.accuracy()).isEqualTo(0.5);
        assertThat(run.toResult("m", 64, 0).samples()).isEqualTo(2);
        // ties go to the answer that reached the tied count first; generations without an answer do not vote
        assertThat(TaskRun.majority(List.of(said(a, "5678\n"), said(a, "1234\n"))))
                .isEqualTo("5678");
        assertThat(TaskRun.majority(List.of(said(a, "11\n"), said(a, "22\n"), said(a, "22\n"), said(a, "11\n"))))
                .isEqualTo("22");
        assertThat(TaskRun.majority(List.of(said(a, "no answer\n"), said(a, "x\n"), said(a, "1234\n"))))
                .isEqualTo("1234");
        assertThat(TaskRun.majority(List.of(said(a, "none\n")))).isEmpty();
        assertThatThrownBy(() ->
                        new TaskRun("needle", KvCacheSpec.keepAll(), List.of(said(a, "1")), 2, 0.7f, 0, 0, 0, 0, null))
                .hasMessageContaining("1 generations do not make whole votes of 2");
    }

    @Test
    void votesCountAnswersAsTheTaskReadsThem() {
        // copy's answer is the whole first line, not its trailing digits
        Task copy = TaskSuite.named("copy");
        Sample c = new Sample("copy", 1, "p", "ab cd\n", "ab cd");
        TaskRun run = new TaskRun(
                "copy",
                KvCacheSpec.keepAll(),
                List.of(said(copy, c, "ab cd\n"), said(copy, c, "ab ce\n"), said(copy, c, "ab cd\n")),
                3,
                1f,
                0,
                0,
                0,
                0,
                null);
        assertThat(TaskRun.majority(run.generationsOf(0))).isEqualTo("ab cd");
        assertThat(run.correct()).isEqualTo(1);
        assertThat(run.toResult("m", 64, 0).temperature())
                .as("the float as written, not widened")
                .isEqualTo(1.0);
        assertThat(new TaskRun("copy", KvCacheSpec.keepAll(), List.of(said(copy, c, "x\n")), 1, 0.7f, 0, 0, 0, 0, null)
                        .toResult("m", 64, 0)
                        .temperature())
                .isEqualTo(0.7);
    }

    @Test
    void votesNeedATemperature() {
        assertThatThrownBy(() -> new TaskEvaluator.Settings(64, 1, 0, 1, 8, KvType.F32, 4, 0f))
                .hasMessageContaining("--votes 4 needs a --temperature above 0");
        assertThatThrownBy(() -> new TaskEvaluator.Settings(64, 1, 0, 1, 8, KvType.F32, 0, 1f))
                .hasMessageContaining("--votes must be at least 1, got 0");
        assertThatThrownBy(() -> new TaskEvaluator.Settings(64, 1, 0, 1, 8, KvType.F32, 1, -1f))
                .hasMessageContaining("--temperature must be >= 0, got -1.0");
    }
}
