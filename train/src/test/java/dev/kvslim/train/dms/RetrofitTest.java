package dev.kvslim.train.dms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.tasks.tokenizer.DemoTokenizer;
import dev.kvslim.train.checkpoint.HfModelFiles;
import dev.kvslim.train.data.Batch;
import dev.kvslim.train.loop.StepResult;
import dev.kvslim.train.model.Activations;
import dev.kvslim.train.model.Parameter;
import dev.kvslim.train.model.TrainWeights;
import dev.kvslim.train.model.Transformer;
import dev.kvslim.train.random.Rng;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The retrofit on a tiny model (dim 32, 2 layers, T 63): the achieved fraction of closed gates follows the
 * scheduled target and the KL stays small and finite, adapter mode leaves every base tensor bit for bit, full mode
 * trains, milestone folders load with their DMS metadata, a resumed run repeats the uninterrupted one bit for bit,
 * and bad settings are named.
 */
class RetrofitTest {

    @TempDir
    static Path shared;

    static Path teacher, text;

    @TempDir
    Path tmp;

    /** A tiny teacher with peaked, position-dependent predictions (random weights, larger than initialisation). */
    @BeforeAll
    static void teacher() throws IOException {
        LlamaConfig c = LlamaConfig.builder()
                .architecture("LlamaForCausalLM")
                .dim(32)
                .hiddenDim(64)
                .layers(2)
                .heads(4)
                .kvHeads(2)
                .headSize(8)
                .vocabSize(DemoTokenizer.VOCAB_SIZE)
                .contextLength(64)
                .build();
        TrainWeights w = new TrainWeights(c);
        w.initialise(3);
        Rng rng = new Rng(4);
        for (Parameter p : w.parameters()) {
            float[] d = p.data();
            for (int i = 0; i < d.length; i++) {
                d[i] += (float) (rng.nextGaussian() * (p.kind() == Parameter.Kind.NORM ? 0.1 : 0.15));
            }
        }
        teacher = shared.resolve("teacher");
        Files.createDirectories(teacher);
        HfModelFiles.write(w, teacher, DemoTokenizer.BOS_ID, DemoTokenizer.EOS_ID);
        DemoTokenizer.write(teacher);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 20000; i++) {
            sb.append("the cat ")
                    .append(i % 7)
                    .append(" sat on mat ")
                    .append(i % 13)
                    .append(". ");
        }
        text = shared.resolve("text.txt");
        Files.writeString(text, sb.toString());
    }

    /** The request of the resumable teacher-data run with another window or seed. */
    static Retrofit.Request request(Path out, int window, long seed) {
        return new Retrofit.Request(
                teacher,
                out,
                Retrofit.Mode.ADAPTER,
                3,
                window,
                20.0,
                null,
                16,
                "teacher",
                1e-3f,
                4,
                63,
                seed,
                0,
                4096,
                null,
                null,
                null,
                null,
                null,
                null,
                null);
    }

    /** 20 steps per unit of ratio, five times the paper's pace, at a fixed lr of 1e-3 (a logit pace of 3.2 here). */
    static Retrofit.Request request(Path out, Retrofit.Mode mode, double target, int steps, String data) {
        return new Retrofit.Request(
                teacher, out, mode, target, 4, 20.0, null, steps, data, 1e-3f, 4, 63, 7L, 0, 4096, null, null, null,
                null, null, null, null);
    }

    /** {@code r} with the hinge's largest overshoot and the learning-rate decay set. */
    static Retrofit.Request withOptions(Retrofit.Request r, Double maxOvershoot, boolean lrDecay) {
        return withOptions(r, maxOvershoot, lrDecay, r.baseLr(), r.endShare(), r.hingeScope());
    }

    /** {@code r} with the options added last set: overshoot, lr decay, adapter-full base rate, end share, hinge scope. */
    static Retrofit.Request withOptions(
            Retrofit.Request r,
            Double maxOvershoot,
            Boolean lrDecay,
            Float baseLr,
            Float endShare,
            DmsBiasHook.Scope hingeScope) {
        return new Retrofit.Request(
                r.teacher(),
                r.out(),
                r.mode(),
                r.targetCr(),
                r.window(),
                r.stepsPerCr(),
                r.holds(),
                r.steps(),
                r.data(),
                r.lr(),
                r.batch(),
                r.seq(),
                r.seed(),
                r.checkpointEvery(),
                r.teacherTokens(),
                r.promptWeight(),
                r.minContext(),
                maxOvershoot,
                lrDecay,
                baseLr,
                endShare,
                hingeScope);
    }

    /** A request to {@code out} with the settings the tests of refusals vary, every other left to its default. */
    static Retrofit.Request settings(
            Path teacherDir,
            Path out,
            Retrofit.Mode mode,
            double targetCr,
            Integer window,
            String data,
            Integer seq,
            Float promptWeight,
            Integer minContext) {
        return new Retrofit.Request(
                teacherDir,
                out,
                mode,
                targetCr,
                window,
                null,
                null,
                null,
                data,
                null,
                null,
                seq,
                null,
                null,
                null,
                promptWeight,
                minContext,
                null,
                null,
                null,
                null,
                null);
    }

    record Step(StepResult result, RetrofitLoss.StepMetrics metrics) {}

    static List<Step> run(Retrofit r) throws IOException {
        List<Step> steps = new ArrayList<>();
        r.run((result, metrics, total) -> steps.add(new Step(result, metrics)));
        return steps;
    }

    @Test
    void adapterRetrofitTracksTheTargetAndKeepsTheBase() throws IOException {
        Path out = tmp.resolve("adapter");
        Retrofit r = Retrofit.open(request(out, Retrofit.Mode.ADAPTER, 3, 60, text.toString()));
        List<Step> steps = run(r);
        assertThat(steps).hasSize(60);
        RetrofitLoss.StepMetrics first = steps.getFirst().metrics();
        assertThat(first.kl())
                .as("step 0: the student is the teacher but for ~0.7% noisy evictions")
                .isLessThan(0.02);
        assertThat(first.targetCr()).isEqualTo(1.0);
        assertThat(first.fracClosed()).as("z = -5 under the noise closes ~0.7%").isLessThan(0.03);
        double frac = 0, kl = 0;
        for (Step s : steps.subList(50, 60)) {
            frac += s.metrics().fracClosed() / 10;
            kl = Math.max(kl, s.metrics().kl());
            assertThat(s.metrics().targetCr()).isCloseTo(3.0, within(1e-9));
        }
        assertThat(frac).as("achieved fraction of closed gates over the hold").isCloseTo(2.0 / 3, within(0.1));
        for (Step s : steps) {
            assertThat(s.metrics().kl()).isFinite();
        }
        assertThat(kl).as("KL stays small").isLessThan(0.5);
        // at CR 2 on the way (step 20): the fraction has followed
        assertThat(steps.get(24).metrics().fracClosed()).isCloseTo(0.55, within(0.2));

        // the milestones and the final model are complete folders the engine runs with DMS
        for (String name : new String[] {"cr2", "cr3", "model"}) {
            LoadedModel m = ModelLoader.load(out.resolve(name), null);
            assertThat(m.model().config().dms())
                    .as(name)
                    .isEqualTo(new DmsConfig(4, 100f, 5f, DmsConfig.Variant.ADAPTER, false));
            assertThat(m.tokenizer().vocabSize()).isEqualTo(DemoTokenizer.VOCAB_SIZE);
            assertThat(out.resolve(name).resolve("retrofit.json")).exists();
        }
        assertThat(Files.readString(out.resolve("cr2/retrofit.json"))).contains("\"step\" : 21");
        assertThat(Files.readAllLines(out.resolve("train_log.jsonl")))
                .hasSize(60)
                .allMatch(l -> l.contains("\"kl\"") && l.contains("\"train_cr\"") && l.contains("\"target_cr\""));

        // adapter mode: every tensor but the adapter's is the teacher's, bit for bit
        TrainWeights before = HfModelFiles.read(teacher), after = HfModelFiles.read(out.resolve("model"));
        int adapters = 0;
        for (Parameter p : after.parameters()) {
            Parameter orig = before.get(p.name());
            if (orig == null) {
                assertThat(p.name()).contains("dms_proj_alpha");
                adapters++;
            } else {
                assertThat(p.data()).as(p.name()).containsExactly(orig.data());
            }
        }
        assertThat(adapters).isEqualTo(4);
        assertThat(after.dmsProj[0].data()).as("the adapter trained").isNotEqualTo(new float[after.dmsProj[0].size()]);
    }

    @Test
    void fullModeTrainsTheQueryChannelDecisions() throws IOException {
        Path out = tmp.resolve("full");
        Retrofit r = Retrofit.open(request(out, Retrofit.Mode.FULL, 2, 30, text.toString()));
        assertThat(r.trainableParameters()).isEqualTo(r.trainer().weights().count());
        List<Step> steps = run(r);
        RetrofitLoss.StepMetrics first = steps.getFirst().metrics();
        assertThat(first.fracClosed())
                .as("zeroed q rows: z = -5 everywhere at the start")
                .isLessThan(0.03);
        double frac = 0;
        for (Step s : steps.subList(24, 30)) {
            frac += s.metrics().fracClosed() / 6;
            assertThat(s.metrics().kl()).isFinite().isLessThan(1.0);
        }
        assertThat(frac).isCloseTo(0.5, within(0.15));
        LoadedModel m = ModelLoader.load(out.resolve("cr2"), null);
        assertThat(m.model().config().dms().variant()).isEqualTo(DmsConfig.Variant.QUERY_CHANNEL);
    }

    @Test
    void adapterFullModeTrainsEveryWeightBehindTheAdapter() throws IOException {
        Path out = tmp.resolve("adapter-full");
        Retrofit r = Retrofit.open(request(out, Retrofit.Mode.ADAPTER_FULL, 2, 30, text.toString()));
        assertThat(r.trainableParameters()).isEqualTo(r.trainer().weights().count());
        assertThat(r.settings().json()).containsEntry("mode", "adapter-full").containsEntry("base_lr", (double)
                Retrofit.REFERENCE_LR);
        List<Step> steps = run(r);
        assertThat(steps.getFirst().metrics().kl())
                .as("step 0: the adapter starts at zero, so the student is the frozen teacher but for noise")
                .isLessThan(0.02);
        double frac = 0;
        for (Step s : steps.subList(24, 30)) {
            frac += s.metrics().fracClosed() / 6;
            assertThat(s.metrics().kl()).isFinite().isLessThan(1.0);
        }
        assertThat(frac).isCloseTo(0.5, within(0.15));
        LoadedModel m = ModelLoader.load(out.resolve("cr2"), null);
        assertThat(m.model().config().dms().variant()).isEqualTo(DmsConfig.Variant.ADAPTER);
        TrainWeights before = HfModelFiles.read(teacher), after = HfModelFiles.read(out.resolve("model"));
        assertThat(after.wq[0].data()).as("the base trains too").isNotEqualTo(before.wq[0].data());
        float moved = 0;
        for (int i = 0; i < after.wq[0].size(); i++) {
            moved = Math.max(
                    moved, Math.abs(after.wq[0].data()[i] - before.wq[0].data()[i]));
        }
        assertThat(moved)
                .as("at the base rate, 3e-5 (the adapter's is 1e-3): Adam moves a weight about lr a step, 30 steps")
                .isLessThan(30 * 3e-5f * 2);
        assertThat(after.w2[1].data()).isNotEqualTo(before.w2[1].data());
        assertThat(after.dmsProj[0].data()).isNotEqualTo(new float[after.dmsProj[0].size()]);
    }

    @Test
    void baseLearningRateIsOnlyForAdapterFullMode() {
        Retrofit.Request r = request(tmp.resolve("base-lr"), Retrofit.Mode.ADAPTER, 2, 4, text.toString());
        assertThatThrownBy(() -> Retrofit.open(withLater(r, 1e-4f, null)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("--base-lr needs --mode adapter-full");
        Retrofit.Request full = request(tmp.resolve("base-lr"), Retrofit.Mode.ADAPTER_FULL, 2, 4, text.toString());
        assertThatThrownBy(() -> Retrofit.open(withLater(full, 0f, null)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--base-lr must be > 0, got 0.0");
    }

    @Test
    void anEndShareNeedsTaskRows() {
        Retrofit.Request r = request(tmp.resolve("end-share"), Retrofit.Mode.ADAPTER, 2, 4, text.toString());
        Retrofit.Request weighted = withLater(r, null, 0.05f);
        assertThatThrownBy(() -> Retrofit.open(weighted))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--end-share needs --data tasks: only task rows say where an answer ends");
    }

    /** {@code r} with the adapter-full base rate and the end share set. */
    static Retrofit.Request withLater(Retrofit.Request r, Float baseLr, Float endShare) {
        return withOptions(r, r.maxOvershoot(), r.lrDecay(), baseLr, endShare, r.hingeScope());
    }

    @Test
    void modesAreNamedAsTheOptionTakesThem() {
        for (Retrofit.Mode m : Retrofit.Mode.values()) {
            assertThat(Retrofit.Mode.ofOptionName(m.optionName())).isEqualTo(m);
        }
        assertThat(Retrofit.Mode.ADAPTER_FULL.optionName()).isEqualTo("adapter-full");
        assertThatThrownBy(() -> Retrofit.Mode.ofOptionName("adapter_full"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--mode must be full, adapter or adapter-full, got 'adapter_full'");
    }

    @Test
    void resumeReproducesTheRunBitForBit() throws IOException {
        List<Step> expected =
                run(Retrofit.open(request(tmp.resolve("whole"), Retrofit.Mode.ADAPTER, 3, 16, "teacher")));
        Path out = tmp.resolve("split");
        List<Step> got = new ArrayList<>(run(Retrofit.open(request(out, Retrofit.Mode.ADAPTER, 3, 9, "teacher"))));
        assertThat(out.resolve("teacher_samples.bin")).exists();
        // a run started before holds (or prompt weights, packed rows, the hinge's second side, the decay) existed has
        // no "holds" ("prompt_weight", "min_context", "max_overshoot", "lr_decay") in its retrofit.json: it resumes as
        // a run without any (every position weighted 1, one sample per row, the paper's one-sided hinge, constant lr)
        Path settings = out.resolve("retrofit.json");
        String saved = Files.readString(settings);
        String later =
                ",\n  \"prompt_weight\" : 1.0,\n  \"min_context\" : 0,\n  \"max_overshoot\" : \"none\",\n  \"lr_decay\" : false";
        assertThat(saved).contains("\"holds\" : \"\",\n").contains(later);
        Files.writeString(settings, saved.replace("  \"holds\" : \"\",\n", "").replace(later, ""));
        Retrofit second = Retrofit.open(request(out, Retrofit.Mode.ADAPTER, 3, 16, "teacher"));
        assertThat(second.resume()).isTrue();
        assertThat(second.trainer().step()).isEqualTo(9);
        got.addAll(run(second));
        assertThat(got).hasSize(16);
        for (int i = 0; i < 16; i++) {
            assertThat(got.get(i).result().loss())
                    .as("loss of step %d", i + 1)
                    .isEqualTo(expected.get(i).result().loss());
            assertThat(got.get(i).result().gradNorm())
                    .isEqualTo(expected.get(i).result().gradNorm());
            assertThat(got.get(i).metrics())
                    .as("metrics of step %d", i + 1)
                    .isEqualTo(expected.get(i).metrics());
        }
        assertThat(Files.readAllLines(out.resolve("train_log.jsonl"))).hasSize(16);
        // a resume with other settings is refused before any work for them: the cached teacher samples stay as they are
        byte[] samples = Files.readAllBytes(out.resolve("teacher_samples.bin"));
        assertThatThrownBy(() -> Retrofit.open(request(out, 5, 7L))).hasMessageContaining("window");
        int[] sampled = {0};
        assertThatThrownBy(() -> Retrofit.open(request(out, 4, 8L), percent -> sampled[0]++))
                .hasMessageContaining("seed");
        Retrofit.Request r = request(out, 4, 7L);
        assertThatThrownBy(() -> Retrofit.open(withOptions(r, 0.5, false)))
                .hasMessageContaining("max_overshoot")
                .hasMessageContaining("0.5");
        assertThatThrownBy(() -> Retrofit.open(withOptions(r, null, false, null, null, DmsBiasHook.Scope.LAYER)))
                .hasMessageContaining("hinge_scope = model, this run asks for layer");
        assertThat(sampled[0]).as("no teacher sampling for a refused resume").isZero();
        assertThat(Files.readAllBytes(out.resolve("teacher_samples.bin"))).isEqualTo(samples);
    }

    @Test
    void lrDecayHoldsTheRateUntilTheTargetThenFallsToZero() throws IOException {
        Retrofit.Request r = request(tmp.resolve("decay"), Retrofit.Mode.ADAPTER, 1.5, 16, "teacher");
        Retrofit run = Retrofit.open(withOptions(r, null, true));
        assertThat(run.schedule().firstStepAt(1.5))
                .as("20 steps per unit of ratio")
                .isEqualTo(10);
        List<Step> steps = run(run);
        // the step log's lr is the one of that step (1-based): 1e-3 through step 11 (0-based 10), then a half cosine
        // over the 6 steps to 16
        for (int i = 0; i <= 10; i++) {
            assertThat(steps.get(i).result().lr()).as("step %d", i + 1).isEqualTo(1e-3f);
        }
        assertThat(steps.get(13).result().lr()).isCloseTo(0.5e-3f, within(1e-9f)); // progress 3/6
        assertThat(steps.get(15).result().lr())
                .isCloseTo((float) (0.5e-3 * (1 + Math.cos(Math.PI * 5 / 6))), within(1e-9f));
    }

    @Test
    void scheduleIsLinearInTheStep() {
        DmsSchedule s = new DmsSchedule(100, 8);
        assertThat(s.cr(0)).isEqualTo(1.0);
        assertThat(s.cr(300)).isEqualTo(4.0);
        assertThat(s.targetFraction(300)).isEqualTo(0.75);
        assertThat(s.cr(700)).isEqualTo(8.0);
        assertThat(s.cr(900)).isEqualTo(8.0);
        assertThat(s.firstStepAt(4)).isEqualTo(300);
        assertThat(s.defaultSteps(0.1)).isEqualTo(770);
        assertThat(s.defaultSteps(Retrofit.HOLD))
                .as("the paper's 1K steps for CR 8")
                .isEqualTo(1000);
        // the reference's form (T9): 1 -> 16 over 510 steps is 34 steps per unit
        DmsSchedule mo = new DmsSchedule(34, 16);
        assertThat(mo.cr(34)).isEqualTo(2.0);
        assertThat(mo.cr(238)).isEqualTo(8.0);
        assertThat(mo.targetFraction(238)).isEqualTo(0.875);
        assertThat(mo.cr(544)).isEqualTo(16.0);
    }

    @Test
    void defaultLearningRateMovesADecisionLogitByAboutFourPerStep() {
        // pace = 100 (alpha scale) * lr * dim
        for (int dim : new int[] {32, 64, 128, 512}) {
            assertThat(100 * Retrofit.defaultLr(dim) * dim).as("dim %d", dim).isCloseTo(4f, within(1e-4f));
        }
        assertThat(Retrofit.defaultLr(4096))
                .as("never below the reference's rate")
                .isEqualTo(3e-5f);
    }

    @Test
    void holdsPauseTheRampAndShiftWhatFollows() {
        // 100 steps per unit to 8, holding CR 4 for 150 steps: the ramp reaches 4 at step 300, stays there through
        // step 450, and every later ratio comes 150 steps later than without the hold
        DmsSchedule s = new DmsSchedule(100, 8, List.of(DmsSchedule.Hold.parse("4:150")));
        assertThat(s.cr(299)).isCloseTo(3.99, within(1e-12));
        assertThat(s.cr(300)).isEqualTo(4.0);
        assertThat(s.cr(450)).isEqualTo(4.0);
        assertThat(s.cr(451)).isCloseTo(4.01, within(1e-12));
        assertThat(s.cr(550)).isEqualTo(5.0);
        assertThat(s.cr(850)).isEqualTo(8.0);
        assertThat(s.cr(1000)).isEqualTo(8.0);
        assertThat(s.firstStepAt(4)).isEqualTo(300);
        assertThat(s.lastStepAt(4)).isEqualTo(450);
        assertThat(s.firstStepAt(5)).isEqualTo(550);
        assertThat(s.lastStepAt(5)).isEqualTo(550);
        assertThat(s.firstStepAt(8)).isEqualTo(850);
        assertThat(s.defaultSteps(0.1)).isEqualTo(920);
        // two holds, given out of order: each shifts the ramp after it
        DmsSchedule two = new DmsSchedule(80, 8, List.of(new DmsSchedule.Hold(6, 50), new DmsSchedule.Hold(4, 100)));
        assertThat(two.holds()).extracting(DmsSchedule.Hold::cr).containsExactly(4.0, 6.0);
        assertThat(two.lastStepAt(4)).isEqualTo(340);
        assertThat(two.firstStepAt(6)).isEqualTo(500);
        assertThat(two.cr(550)).isEqualTo(6.0);
        assertThat(two.cr(551)).isCloseTo(6.0125, within(1e-12));
        assertThat(two.firstStepAt(8)).isEqualTo(710);
        // without holds it is the paper's ramp
        assertThat(new DmsSchedule(100, 8, List.of()).cr(450)).isEqualTo(new DmsSchedule(100, 8).cr(450));
        // a ramp that reaches the held ratio between steps (99.9 at 33.3 per unit): 4 at steps 100-109, then on
        DmsSchedule frac = new DmsSchedule(33.3, 8, List.of(DmsSchedule.Hold.parse("4:10")));
        assertThat(frac.cr(99)).isLessThan(4.0);
        assertThat(frac.firstStepAt(4)).isEqualTo(100);
        assertThat(frac.cr(100)).isEqualTo(4.0);
        assertThat(frac.cr(109)).isEqualTo(4.0);
        assertThat(frac.lastStepAt(4)).isEqualTo(109);
        assertThat(frac.cr(110)).isCloseTo(1 + 100 / 33.3, within(1e-12));
    }

    @Test
    void aHeldRatioIsSavedAtTheEndOfItsHold() throws IOException {
        Path out = tmp.resolve("held");
        Retrofit r = Retrofit.open(new Retrofit.Request(
                teacher,
                out,
                Retrofit.Mode.ADAPTER,
                3,
                4,
                20.0,
                List.of(DmsSchedule.Hold.parse("2:6")),
                null,
                text.toString(),
                1e-3f,
                4,
                63,
                7L,
                0,
                4096,
                null,
                null,
                null,
                null,
                null,
                null,
                null));
        assertThat(r.settings().steps())
                .as("ramp 40 + hold 6 + 3/7 of the ramp")
                .isEqualTo(64);
        List<Step> steps = run(r);
        assertThat(steps).hasSize(64);
        for (int i = 20; i <= 26; i++) {
            assertThat(steps.get(i).metrics().targetCr())
                    .as("target at step %d", i)
                    .isEqualTo(2.0);
        }
        assertThat(steps.get(27).metrics().targetCr()).isCloseTo(2.05, within(1e-9));
        assertThat(Files.readString(out.resolve("cr2/retrofit.json")))
                .contains("\"step\" : 27")
                .contains("\"scheduled_cr\" : 2.0")
                .contains("\"holds\" : \"2:6\"");
        assertThat(out.resolve("cr3/config.json")).exists();
        // a resume must ask for the same holds
        assertThatThrownBy(() -> Retrofit.open(new Retrofit.Request(
                        teacher,
                        out,
                        Retrofit.Mode.ADAPTER,
                        3,
                        4,
                        20.0,
                        List.of(DmsSchedule.Hold.parse("2:8")),
                        null,
                        text.toString(),
                        1e-3f,
                        4,
                        63,
                        7L,
                        0,
                        4096,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null)))
                .hasMessageContaining("holds = 2:6")
                .hasMessageContaining("2:8");
    }

    @Test
    void badHoldsAreNamed() {
        assertThatThrownBy(() -> DmsSchedule.Hold.parse("4"))
                .hasMessageContaining("CR:STEPS")
                .hasMessageContaining("\"4\"");
        assertThatThrownBy(() -> DmsSchedule.Hold.parse("four:10")).hasMessageContaining("\"four:10\"");
        assertThatThrownBy(() -> DmsSchedule.Hold.parse("4:-1")).hasMessageContaining(">= 0, got -1");
        assertThatThrownBy(() -> DmsSchedule.Hold.parse("1:10")).hasMessageContaining("> 1, got 1.0");
        assertThatThrownBy(() -> new DmsSchedule(100, 8, List.of(DmsSchedule.Hold.parse("8:10"))))
                .hasMessageContaining("not below the target");
        assertThatThrownBy(() -> new DmsSchedule(
                        100, 8, List.of(DmsSchedule.Hold.parse("4:10"), DmsSchedule.Hold.parse("4.0:20"))))
                .hasMessageContaining("two holds at CR 4.0");
        Path out = tmp.resolve("badhold");
        assertThatThrownBy(() -> Retrofit.open(new Retrofit.Request(
                        teacher,
                        out,
                        Retrofit.Mode.ADAPTER,
                        4,
                        null,
                        null,
                        List.of(DmsSchedule.Hold.parse("5:10")),
                        null,
                        "teacher",
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null)))
                .hasMessageContaining("--hold")
                .hasMessageContaining("not below the target");
    }

    @Test
    void t10HingeAndT11KlDirection() throws IOException {
        // T10 through the hook: rows at 0.80 and 0.90 closed against 0.875 give 0.0375, gradient from row 0 only
        DmsBiasHook hook = new DmsBiasHook(oneHeadAdapter(), 2, 10, 0.1f);
        hook.clearNoise();
        float[] z = new float[20];
        for (int i = 0; i < 10; i++) {
            z[i] = i < 8 ? 1f : -1f;
            z[10 + i] = i < 9 ? 1f : -1f;
        }
        hook.forward(0, z);
        assertThat(hook.fracClosed(0)).isCloseTo(0.8, within(1e-12));
        assertThat(hook.fracClosed(1)).isCloseTo(0.9, within(1e-12));
        assertThat(hook.hinge(0.875)).isCloseTo(0.0375, within(1e-12));
        hook.setHinge(0.875, 1.0);
        float[] dz = new float[20];
        float[] dbias = new float[2 * 10 * 10];
        hook.backward(0, dbias, dz);
        assertThat(dz[0]).isLessThan(0f);
        for (int i = 10; i < 20; i++) {
            assertThat(dz[i]).isEqualTo(0f);
        }
        // T11: KL(s || t) with p_s = [0.5, 0.5], p_t = [0.9, 0.1] is 0.510826
        float[] losses = new float[1], grad = new float[2];
        dev.kvslim.train.ops.KlDivergence.forwardBackward(
                losses,
                grad,
                new float[] {0f, 0f},
                new float[] {(float) Math.log(0.9), (float) Math.log(0.1)},
                null,
                1,
                2,
                1f);
        assertThat(losses[0]).isCloseTo(0.510826f, within(1e-5f));
    }

    /** One layer, one head of 8, adapter decisions, window 1: the hinge tests' model. */
    private static LlamaConfig oneHeadAdapter() {
        return oneHeadAdapter(1);
    }

    /** {@code layers} layers of one head of 8, adapter decisions, window 1. */
    private static LlamaConfig oneHeadAdapter(int layers) {
        return LlamaConfig.builder()
                .architecture("LlamaForCausalLM")
                .dim(8)
                .hiddenDim(8)
                .layers(layers)
                .heads(1)
                .kvHeads(1)
                .headSize(8)
                .vocabSize(8)
                .contextLength(16)
                .build()
                .withDms(new DmsConfig(1, 100f, 5f, DmsConfig.Variant.ADAPTER, false));
    }

    @Test
    void aRowPastTheLargestOvershootIsPushedBack() {
        float[] z = new float[20];
        for (int i = 0; i < 10; i++) {
            z[i] = i < 8 ? 1f : -1f; // row 0: 0.8 closed, 0.075 under 0.875 (CR 8)
            z[10 + i] = i < 9 ? 1f : -1f; // row 1: 0.9 closed (CR 10)
        }
        // overshoot 0 (two-sided): row 1 is 0.025 over the target
        DmsBiasHook hook = new DmsBiasHook(oneHeadAdapter(), 2, 10, 0.1f, 0, DmsBiasHook.Scope.MODEL);
        hook.clearNoise();
        hook.forward(0, z);
        assertThat(hook.hinge(0.875)).isCloseTo((0.075 + 0.025) / 2, within(1e-12));
        hook.setHinge(0.875, 1.0);
        float[] dz = new float[20];
        hook.backward(0, new float[2 * 10 * 10], dz);
        for (int i = 0; i < 10; i++) {
            assertThat(dz[i]).as("row 0 under the target: decisions pushed up").isLessThan(0f);
            assertThat(dz[10 + i])
                    .as("row 1 over it: pushed down as hard")
                    .isCloseTo(-dz[i], within(Math.abs(dz[i]) * 1e-3f));
        }
        // overshoot 1: the ceiling is CR 9 (1 - 1/9 = 0.8889), row 1 is 0.0111 past it
        hook = new DmsBiasHook(oneHeadAdapter(), 2, 10, 0.1f, 1, DmsBiasHook.Scope.MODEL);
        hook.clearNoise();
        hook.forward(0, z);
        assertThat(hook.hinge(0.875)).isCloseTo((0.075 + (0.9 - (1 - 1 / 9.0))) / 2, within(1e-12));
        float[] pushed = new float[20];
        hook.setHinge(0.875, 1.0);
        hook.backward(0, new float[2 * 10 * 10], pushed);
        assertThat(pushed[10]).isGreaterThan(0f);
        // overshoot 3: the ceiling is CR 11 (0.9091), row 1 is free; so is every row with none (the paper's)
        for (double m : new double[] {3, Double.POSITIVE_INFINITY}) {
            hook = new DmsBiasHook(oneHeadAdapter(), 2, 10, 0.1f, m, DmsBiasHook.Scope.MODEL);
            hook.clearNoise();
            hook.forward(0, z);
            assertThat(hook.hinge(0.875)).isCloseTo(0.075 / 2, within(1e-12));
            float[] free = new float[20];
            hook.setHinge(0.875, 1.0);
            hook.backward(0, new float[2 * 10 * 10], free);
            for (int i = 10; i < 20; i++) {
                assertThat(free[i]).as("row 1 within %s of the target", m).isEqualTo(0f);
            }
        }
        assertThatThrownBy(() -> new DmsBiasHook(oneHeadAdapter(), 2, 10, 0.1f, -1, DmsBiasHook.Scope.MODEL))
                .hasMessageContaining("overshoot");
    }

    @Test
    void aLayerScopedHingeHoldsEveryLayerToTheTarget() {
        // two layers of one head, one row of 10: layer 0 evicts 6, layer 1 all 10, so the model evicts 0.8
        LlamaConfig c = oneHeadAdapter(2);
        float[] z0 = new float[10], z1 = new float[10];
        for (int i = 0; i < 10; i++) {
            z0[i] = i < 6 ? 1f : -1f;
            z1[i] = 1f;
        }
        float[][] grads = new float[4][];
        int g = 0;
        for (DmsBiasHook.Scope scope : DmsBiasHook.Scope.values()) {
            DmsBiasHook hook = new DmsBiasHook(c, 1, 10, 0.1f, Double.POSITIVE_INFINITY, scope);
            hook.clearNoise();
            hook.forward(0, z0);
            hook.forward(1, z1);
            assertThat(hook.fracClosed(0)).isCloseTo(0.8, within(1e-12));
            assertThat(hook.fracClosed(0, 0)).isCloseTo(0.6, within(1e-12));
            assertThat(hook.fracClosed(0, 1)).isCloseTo(1.0, within(1e-12));
            // CR 4 (0.75): the model is past it, layer 0 is 0.15 short (half of the mean over layers)
            assertThat(hook.hinge(0.75)).isCloseTo(scope == DmsBiasHook.Scope.MODEL ? 0 : 0.15 / 2, within(1e-12));
            hook.setHinge(0.75, 1.0);
            for (int l = 0; l < 2; l++) {
                float[] dz = new float[10];
                hook.backward(l, null, dz);
                grads[g++] = dz;
            }
        }
        assertThat(grads[0])
                .as("model scope, layer 0: the model meets the target")
                .containsOnly(0f);
        assertThat(grads[1]).as("model scope, layer 1").containsOnly(0f);
        assertThat(grads[2][9]).as("layer scope, layer 0: pushed up").isLessThan(0f);
        assertThat(grads[3]).as("layer scope, layer 1: past the target").containsOnly(0f);
        // at CR 8 (0.875) both scopes push layer 0, each position as hard
        DmsBiasHook model = new DmsBiasHook(c, 1, 10, 0.1f);
        DmsBiasHook layer = new DmsBiasHook(c, 1, 10, 0.1f, Double.POSITIVE_INFINITY, DmsBiasHook.Scope.LAYER);
        float[] dm = new float[10], dl = new float[10];
        for (DmsBiasHook hook : List.of(model, layer)) {
            hook.clearNoise();
            hook.forward(0, z0);
            hook.forward(1, z1);
            hook.setHinge(0.875, 1.0);
            hook.backward(0, null, hook == model ? dm : dl);
        }
        assertThat(dl).containsExactly(dm);
        assertThat(layer.hinge(0.875)).isCloseTo((0.875 - 0.6) / 2, within(1e-12));
        assertThat(model.hinge(0.875)).isCloseTo(0.075, within(1e-12));
        assertThat(DmsBiasHook.Scope.ofOptionName("layer")).isEqualTo(DmsBiasHook.Scope.LAYER);
        assertThatThrownBy(() -> DmsBiasHook.Scope.ofOptionName("head"))
                .hasMessage("--hinge-scope must be model or layer, got 'head'");
    }

    @Test
    void theKlIsTheMeanWeightedByTheBatchMask() throws IOException {
        // the tiny teacher's adapter student, its adapter set off zero so that some gates close and the KL is not 0
        TrainWeights s = Retrofit.student(HfModelFiles.read(teacher), Retrofit.Mode.ADAPTER, 2);
        Rng rng = new Rng(11);
        for (Parameter p : s.dmsProj) {
            float[] d = p.data();
            for (int i = 0; i < d.length; i++) {
                d[i] = (float) (rng.nextGaussian() * 0.05);
            }
        }
        Transformer model = new Transformer(s);
        int t = 40;
        RetrofitLoss loss = new RetrofitLoss(
                null, new DmsBiasHook(s.config, 1, t, Retrofit.TAU), new DmsSchedule(20, 3), 7, DemoTokenizer.EOS_ID);
        Activations acts = model.newActivations(1, t, true);
        Batch batch = new Batch(1, t);
        for (int i = 0; i <= t; i++) {
            batch.tokens[i] = 'a' + i * 7 % 26;
        }
        batch.split();

        loss.beginMicroStep(5, 0);
        loss.microStep(model, acts, batch, 1f);
        float[] each = acts.losses.clone();
        double plain = 0;
        for (float l : each) {
            plain += l / t;
        }
        assertThat(loss.lastStep().kl()).as("no mask: the plain mean").isCloseTo(plain, within(1e-6));

        // as --prompt-weight 0.1 marks a row: the "target" (every third position) 1, the rest 0.1
        double sum = 0, weight = 0;
        for (int i = 0; i < t; i++) {
            batch.mask[i] = i % 3 == 0 ? 1f : 0.1f;
            sum += batch.mask[i] * each[i];
            weight += batch.mask[i];
        }
        batch.setHasMask(true);
        loss.beginMicroStep(5, 0); // the same step and micro-batch: the same noise, the same per-position KL
        loss.microStep(model, acts, batch, 1f);
        assertThat(acts.losses).containsExactly(each);
        assertThat(loss.lastStep().kl()).isCloseTo(sum / weight, within(1e-6)).isNotCloseTo(plain, within(1e-4));
    }

    @Test
    void badSettingsAreNamed() {
        Path out = tmp.resolve("bad");
        assertThatThrownBy(() -> Retrofit.open(settings(
                        tmp.resolve("missing"), out, Retrofit.Mode.ADAPTER, 8, null, "teacher", null, null, null)))
                .hasMessageContaining("--teacher")
                .hasMessageContaining("missing");
        assertThatThrownBy(() -> Retrofit.open(
                        settings(teacher, out, Retrofit.Mode.ADAPTER, 0.5, null, "teacher", null, null, null)))
                .hasMessageContaining("--target-cr must be >= 1");
        assertThatThrownBy(() -> Retrofit.open(
                        settings(teacher, out, Retrofit.Mode.ADAPTER, 8, -1, "teacher", null, null, null)))
                .hasMessageContaining("--window must be >= 0");
        assertThatThrownBy(() -> Retrofit.open(settings(teacher, out, null, 8, null, "teacher", null, null, null)))
                .hasMessageContaining("--mode");
        assertThatThrownBy(() -> Retrofit.open(
                        settings(teacher, out, Retrofit.Mode.ADAPTER, 8, null, "teacher", 65, null, null)))
                .hasMessageContaining("--seq 65");
        assertThatThrownBy(() -> Retrofit.open(
                        settings(teacher, out, Retrofit.Mode.ADAPTER, 8, null, "tasks", null, 1.5f, null)))
                .hasMessage("--prompt-weight must lie in [0, 1], got 1.5");
        assertThatThrownBy(() -> Retrofit.open(
                        settings(teacher, out, Retrofit.Mode.ADAPTER, 8, null, "teacher", null, 0.1f, null)))
                .hasMessage("--prompt-weight needs --data tasks: only task rows tell the prompt from the target");
        assertThatThrownBy(() -> Retrofit.open(
                        settings(teacher, out, Retrofit.Mode.ADAPTER, 8, null, "teacher", null, null, 512)))
                .hasMessage("--min-context needs --data tasks: it packs task samples into rows");
        assertThatThrownBy(() -> Retrofit.open(
                        settings(teacher, out, Retrofit.Mode.ADAPTER, 8, null, "teacher", null, null, -1)))
                .hasMessage("--min-context must be >= 0, got -1");
        // rows of 64 tokens are too short for the task suite: the message says which length failed, the row's or
        // the packed samples' shortest
        assertThatThrownBy(() -> Retrofit.open(
                        settings(teacher, out, Retrofit.Mode.ADAPTER, 8, null, "tasks", null, null, null)))
                .hasMessageContaining("--data tasks: the task suite cannot make rows of 64 tokens")
                .hasMessageContaining("samples of 64 tokens (the shortest row, seq + 1) are too short");
        assertThatThrownBy(() ->
                        Retrofit.open(settings(teacher, out, Retrofit.Mode.ADAPTER, 8, null, "tasks", null, null, 16)))
                .hasMessageContaining("samples of 16 tokens (the shortest min_context) are too short");
        assertThatThrownBy(() -> Retrofit.open(settings(
                        teacher,
                        out,
                        Retrofit.Mode.ADAPTER,
                        8,
                        null,
                        tmp.resolve("nope.txt").toString(),
                        32,
                        null,
                        null)))
                .hasMessageContaining("neither \"tasks\", \"teacher\" nor a text file");
    }
}
