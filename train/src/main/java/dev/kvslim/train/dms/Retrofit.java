package dev.kvslim.train.dms;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.format.hf.HuggingFaceModels;
import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.tokenizer.Tokenizer;
import dev.kvslim.train.checkpoint.Checkpoint;
import dev.kvslim.train.checkpoint.HfModelFiles;
import dev.kvslim.train.data.Batch;
import dev.kvslim.train.data.TaskSource;
import dev.kvslim.train.data.TextFileSource;
import dev.kvslim.train.data.TokenSource;
import dev.kvslim.train.data.TokenStreamSource;
import dev.kvslim.train.loop.StepLog;
import dev.kvslim.train.loop.StepResult;
import dev.kvslim.train.loop.TrainConfig;
import dev.kvslim.train.loop.Trainer;
import dev.kvslim.train.model.Parameter;
import dev.kvslim.train.model.TrainWeights;
import dev.kvslim.train.model.Transformer;
import dev.kvslim.train.optim.FreezePatterns;
import dev.kvslim.train.optim.LearningRateSchedule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntConsumer;
import java.util.stream.Collectors;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The DMS retrofit (docs/dms.md, section 3): a student that starts as the teacher, with DMS decisions, trained to match
 * the teacher's next-token distributions (KL) while the fraction of "evict" decisions is pushed up to a target that
 * rises linearly with the step ({@link DmsSchedule}).
 * <ul>
 *   <li>{@link Mode#FULL}: variant A, the paper's recipe. The decision logit is the last channel of the first
 *       query head of each KV group ({@code 100 q - 5}); every weight trains. The q_proj rows (and biases) that
 *       produce that channel are zeroed at the start: the variant-A forward removes the channel from the attention
 *       anyway (before and after RoPE), so those rows only ever feed the decision, and zero makes every logit
 *       exactly -5 (evict with probability sigmoid(-5) = 0.7% under the noise) instead of whatever the teacher's
 *       channel held (spec 3.1 and P4; a ramp-down, as [3P] does, would only matter if the attention still read the
 *       channel). What does change at step 0 is the attention of the borrowed head without that channel; the KL
 *       against the original model (not the student's teacher mode, P12) measures it and trains it away.</li>
 *   <li>{@link Mode#ADAPTER}: variant B, NVIDIA's recipe. A zero-initialised {@code Linear(RMSNorm(h))} per layer
 *       (norm weight 1) gives the logits; only {@code *dms_proj_alpha*} trains, every base tensor stays bit for bit
 *       the teacher's.</li>
 *   <li>{@link Mode#ADAPTER_FULL}: the adapter's decisions with every weight training, as in full mode (ours: the
 *       paper trains the whole model so that it learns to do without what it evicts; the adapter leaves the attention
 *       of a small head size whole, where borrowing one of 32 query channels would not).</li>
 * </ul>
 * Outputs in {@code OUT}: {@code model/} (the final student), {@code crN/} at every integer ratio N below the
 * target when the schedule first reaches it (at the end of its hold for a held ratio, which also gets a folder when
 * it is not an integer) and at the target at the end (each a complete Hugging Face folder
 * whose config.json carries the {@code dms_*} keys, so the engine runs it with the DMS cache), {@code checkpoint/}
 * (resume), {@code train_log.jsonl}, {@code retrofit.json} (the settings; a resumed run must use the same ones) and,
 * for {@code --data teacher}, {@code teacher_samples.bin}.
 */
public final class Retrofit {

    /** Which decision variant and which weights train. */
    public enum Mode {
        FULL,
        ADAPTER,
        /** The adapter's decisions, every weight training as in {@link #FULL}, against a frozen copy of the teacher. */
        ADAPTER_FULL;

        /** The name {@code kvslim retrofit --mode} takes: {@code full}, {@code adapter}, {@code adapter-full}. */
        public String optionName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /** The mode {@code --mode name} names. */
        public static Mode ofOptionName(String name) {
            for (Mode m : values()) {
                if (m.optionName().equals(name)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("--mode must be full, adapter or adapter-full, got '" + name + "'");
        }
    }

    /**
     * Default learning rate (constant, AdamW 0.9/0.95, weight decay 0, clip 1, as the reference), from the hidden
     * size: {@code max(3e-5, 0.04 / dim)}. Adam moves each weight by about lr per step, so a decision logit (scale 100
     * times a dot product over the hidden size) moves by up to about {@code 100 * lr * dim} per step: 12 for the
     * reference's 3e-5 at dim 4096, but only 0.2 for stories260K (dim 64) and 0.4 for the demo model (dim 128) at
     * that rate. Starting at -5, such a student cannot follow a target that rises every step (in full mode at 1e-4
     * the tiny test model's gates stayed shut for 30 steps). Too fast a pace is no better: at 1e-3 (pace 13) the demo
     * model's retrofit tracked the target but its KL spiked to 0.1-0.2 on many steps between CR 4.5 and 6 and
     * settled 2-3x higher than at 3e-4 (pace 4), which ended 1-9 points more accurate per task at CR 8
     * (docs/eval). So the default aims at a pace of 4 per step: 3.1e-4 at dim 128, 6.3e-4 at dim 64, and the
     * reference's 3e-5 from dim 1,334 up. In full mode every other weight moves at that rate as well; the KL term
     * holds the student to the teacher.
     */
    public static float defaultLr(int dim) {
        return Math.max(REFERENCE_LR, 0.04f / dim);
    }

    /** The reference's learning rate (every weight of an 8B model). */
    public static final float REFERENCE_LR = 3e-5f;

    /**
     * Default learning rate of the base weights in {@link Mode#ADAPTER_FULL}: the reference's 3e-5, or {@code lr} if
     * lower. The adapter's rate is raised for small hidden sizes only so that its decision logit keeps pace with the
     * schedule (see {@link #defaultLr}); nothing asks the base weights to move faster than the paper's. At the
     * adapter's 3.1e-4 they did not hold: the demo-4k student's KL ran 2-10x the adapter-only run's from the first
     * steps, before anything was evicted, and at CR 4 it solved 0 of 40 runsum samples (the adapter-only run 26).
     */
    public static float defaultBaseLr(float lr) {
        return Math.min(REFERENCE_LR, lr);
    }

    /**
     * Steps at the target after the ramp, as a fraction of the ramp: the paper's "1K steps for 8x" with CR 8 reached
     * at about step 700 (spec 3.4), so a CR 8 run is 1,000 steps. Over the last 300 of them the demo model's
     * training ratio kept settling (8.6 -> 9.0) while its KL fell from 0.003 to 0.0016.
     */
    public static final double HOLD = 3.0 / 7;

    public static final float TAU = 0.1f;

    /**
     * What the caller asks for; null fields take defaults from the teacher.
     *
     * @param data "tasks", "teacher", or a text file
     */
    public record Request(
            Path teacher,
            Path out,
            Mode mode,
            double targetCr,
            Integer window,
            Double stepsPerCr,
            List<DmsSchedule.Hold> holds,
            Integer steps,
            String data,
            Float lr,
            Integer batch,
            Integer seq,
            Long seed,
            Integer checkpointEvery,
            Integer teacherTokens,
            Float promptWeight,
            Integer minContext,
            Double maxOvershoot,
            Boolean lrDecay,
            Float baseLr,
            Float endShare,
            DmsBiasHook.Scope hingeScope) {}

    /** Every setting of a run, resolved. */
    public record Settings(
            Mode mode,
            double targetCr,
            int window,
            double stepsPerCr,
            List<DmsSchedule.Hold> holds,
            int steps,
            String data,
            float lr,
            int batch,
            int seq,
            long seed,
            int checkpointEvery,
            int teacherTokens,
            float promptWeight,
            int minContext,
            double maxOvershoot,
            boolean lrDecay,
            float baseLr,
            float endShare,
            DmsBiasHook.Scope hingeScope) {

        /** The holds as {@code --hold} takes them: {@code 4:150,6:100}, or empty for none. */
        public String holdsText() {
            return holds.stream().map(DmsSchedule.Hold::toString).collect(Collectors.joining(","));
        }

        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mode", mode.optionName());
            m.put("target_cr", targetCr);
            m.put("window", window);
            m.put("steps_per_cr", stepsPerCr);
            m.put("holds", holdsText());
            m.put("steps", steps);
            m.put("data", data);
            m.put("lr", (double) lr);
            m.put("batch", batch);
            m.put("seq", seq);
            m.put("seed", seed);
            m.put("teacher_tokens", teacherTokens);
            m.put("tau", (double) TAU);
            m.put("prompt_weight", (double) promptWeight);
            m.put("min_context", minContext);
            m.put("max_overshoot", Double.isInfinite(maxOvershoot) ? "none" : format(maxOvershoot));
            m.put("lr_decay", lrDecay);
            m.put("end_share", (double) endShare);
            m.put("hinge_scope", hingeScope.optionName());
            if (mode == Mode.ADAPTER_FULL) {
                m.put("base_lr", (double) baseLr);
            }
            return m;
        }
    }

    /** Progress of a run. */
    public interface Listener {
        void afterStep(StepResult result, RetrofitLoss.StepMetrics metrics, int totalSteps);

        /** A model folder was written ({@code what}: "cr4", "model"). */
        default void saved(String what, Path dir, RetrofitLoss.StepMetrics metrics) {}
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Settings settings;
    private final Path out;
    private final DmsSchedule schedule;
    private final Trainer trainer;
    private final RetrofitLoss loss;
    private final String dataDescription;
    private final long trainable;

    private Retrofit(Settings settings, Path out, Trainer trainer, RetrofitLoss loss, String dataDescription) {
        this.settings = settings;
        this.out = out;
        this.schedule = new DmsSchedule(settings.stepsPerCr(), settings.targetCr(), settings.holds());
        this.trainer = trainer;
        this.loss = loss;
        this.dataDescription = dataDescription;
        this.trainable = trainer.weights().parameters().stream()
                .filter(p -> !p.frozen())
                .mapToLong(Parameter::size)
                .sum();
    }

    /** Loads the teacher, builds the student, the data and the trainer. */
    public static Retrofit open(Request r) throws IOException {
        return open(r, percent -> {});
    }

    /**
     * As {@link #open(Request)}, telling {@code teacherProgress} the percentage of the teacher samples made while it
     * makes them (for {@code --data teacher} without a cached stream).
     */
    public static Retrofit open(Request r, IntConsumer teacherProgress) throws IOException {
        Path teacherDir = r.teacher();
        if (teacherDir == null || !Files.isDirectory(teacherDir)) {
            throw new IllegalArgumentException(
                    "--teacher " + teacherDir + " is not a folder: the teacher must be a Hugging"
                            + " Face model folder (convert a .gguf first with kvslim convert --to safetensors)");
        }
        if (!HuggingFaceModels.isModelFolder(teacherDir)) {
            throw new IllegalArgumentException(
                    "--teacher " + teacherDir + " has no config.json: not a Hugging Face model" + " folder");
        }
        require(r.out() != null, "--out is required");
        require(r.mode() != null, "--mode must be full, adapter or adapter-full");
        require(r.targetCr() >= 1 && Double.isFinite(r.targetCr()), "--target-cr must be >= 1, got " + r.targetCr());
        require(r.window() == null || r.window() >= 0, "--window must be >= 0, got " + r.window());
        require(
                r.stepsPerCr() == null || r.stepsPerCr() > 0 && Double.isFinite(r.stepsPerCr()),
                "--steps-per-cr must be > 0, got " + r.stepsPerCr());
        require(r.steps() == null || r.steps() > 0, "--steps must be > 0, got " + r.steps());
        require(r.lr() == null || r.lr() > 0 && Float.isFinite(r.lr()), "--lr must be > 0, got " + r.lr());
        require(r.batch() == null || r.batch() > 0, "--batch must be > 0, got " + r.batch());
        require(r.seq() == null || r.seq() > 0, "--seq must be > 0, got " + r.seq());
        require(
                r.checkpointEvery() == null || r.checkpointEvery() >= 0,
                "--checkpoint-every must be >= 0, got " + r.checkpointEvery());
        require(
                r.teacherTokens() == null || r.teacherTokens() >= 2,
                "--teacher-tokens must be >= 2, got " + r.teacherTokens());

        float promptWeight = r.promptWeight() != null ? r.promptWeight() : 1f;
        require(promptWeight >= 0 && promptWeight <= 1, "--prompt-weight must lie in [0, 1], got " + r.promptWeight());
        require(
                promptWeight == 1 || "tasks".equals(r.data()),
                "--prompt-weight needs --data tasks: only task rows tell the prompt from the target");
        double maxOvershoot = r.maxOvershoot() != null ? r.maxOvershoot() : Double.POSITIVE_INFINITY;
        require(maxOvershoot >= 0, "--max-overshoot must be >= 0, got " + r.maxOvershoot());
        require(
                r.baseLr() == null || r.mode() == Mode.ADAPTER_FULL,
                "--base-lr needs --mode adapter-full: in adapter mode the base is frozen, in full mode it trains at --lr");
        require(
                r.baseLr() == null || r.baseLr() > 0 && Float.isFinite(r.baseLr()),
                "--base-lr must be > 0, got " + r.baseLr());
        float endShare = r.endShare() != null ? r.endShare() : 0f;
        require(endShare >= 0 && endShare < 1, "--end-share must lie in [0, 1), got " + r.endShare());
        require(
                endShare == 0 || "tasks".equals(r.data()),
                "--end-share needs --data tasks: only task rows say where an answer ends");
        int minContext = r.minContext() != null ? r.minContext() : 0;
        require(minContext >= 0, "--min-context must be >= 0, got " + minContext);
        require(
                minContext == 0 || "tasks".equals(r.data()),
                "--min-context needs --data tasks: it packs task samples into rows");

        LoadedModel loaded = ModelLoader.load(teacherDir, null);
        LlamaConfig tc = loaded.model().config();
        if (tc.dms() != null) {
            throw new IllegalArgumentException(teacherDir + " is already a DMS model (its config.json has dms_* keys);"
                    + " retrofit the original model");
        }
        Tokenizer tokenizer = loaded.tokenizer();
        int ctx = tc.contextLength();
        int seq = r.seq() != null ? r.seq() : ctx - 1;
        require(seq >= 1 && seq <= ctx, "--seq " + seq + " exceeds the teacher's context of " + ctx + " tokens");
        int window = r.window() != null ? r.window() : defaultWindow(ctx);
        double spc = r.stepsPerCr() != null ? r.stepsPerCr() : 100;
        DmsSchedule schedule;
        try {
            schedule = new DmsSchedule(spc, r.targetCr(), r.holds());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--hold: " + e.getMessage(), e);
        }
        int steps = r.steps() != null ? r.steps() : schedule.defaultSteps(HOLD);
        String data = r.data() == null ? "teacher" : r.data();
        float lr = r.lr() != null ? r.lr() : defaultLr(tc.dim());
        int batch = r.batch() != null ? r.batch() : 4;
        long seed = r.seed() != null ? r.seed() : 42;
        int every = r.checkpointEvery() != null ? r.checkpointEvery() : 50;
        int teacherTokens = r.teacherTokens() != null ? r.teacherTokens() : 1 << 16;
        Settings settings = new Settings(
                r.mode(),
                r.targetCr(),
                window,
                spc,
                schedule.holds(),
                steps,
                data,
                lr,
                batch,
                seq,
                seed,
                every,
                teacherTokens,
                promptWeight,
                minContext,
                maxOvershoot,
                Boolean.TRUE.equals(r.lrDecay()),
                r.baseLr() != null ? r.baseLr() : r.mode() == Mode.ADAPTER_FULL ? defaultBaseLr(lr) : lr,
                endShare,
                r.hingeScope() != null ? r.hingeScope() : DmsBiasHook.Scope.MODEL);
        Path out = r.out();
        if (Checkpoint.locate(out) != null) {
            requireSameSettings(out, settings); // before sampling or loading anything for them
        }

        TrainWeights original = HfModelFiles.fromModel(loaded.model(), teacherDir.toString());
        TrainWeights student = student(original, r.mode(), window);
        if (r.mode() == Mode.ADAPTER_FULL) {
            for (Parameter p : student.parameters()) {
                if (!p.name().contains("dms_proj_alpha")) {
                    p.setLrScale(settings.baseLr() / lr);
                }
            }
        }
        FreezePatterns freeze = r.mode() == Mode.ADAPTER
                ? new FreezePatterns(List.of(), List.of("*dms_proj_alpha*"))
                : FreezePatterns.NONE;
        TrainConfig cfg = new TrainConfig(
                student.config,
                batch,
                seq,
                steps,
                1,
                settings.lrDecay()
                        ? new LearningRateSchedule(
                                LearningRateSchedule.Kind.COSINE, lr, 0, steps, 0f, schedule.firstStepAt(r.targetCr()))
                        : new LearningRateSchedule(LearningRateSchedule.Kind.CONSTANT, lr, 0, steps, 0f),
                0.9f,
                0.95f,
                1e-8f,
                0f,
                1f,
                freeze,
                seed,
                out,
                every,
                teacherDir);

        Files.createDirectories(out);
        TokenSource source;
        String description;
        switch (data) {
            case "tasks" -> {
                var tasks = dev.kvslim.tasks.synthetic.TaskSuite.all();
                double[] weights = tasks.stream().mapToDouble(t -> 1.0).toArray();
                int packed = minContext == 0 ? Integer.MAX_VALUE : minContext;
                source = new TaskSource(tasks, weights, tokenizer, seed, promptWeight, packed, settings.endShare());
                try {
                    new TaskSource(tasks, weights, tokenizer, seed, 1f, packed).next(new Batch(1, seq));
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException(
                            "--data tasks: the task suite cannot make rows of " + (seq + 1)
                                    + " tokens with the teacher's tokenizer (it needs KVSlim's demo tokenizer): "
                                    + e.getMessage(),
                            e);
                }
                description = "task suite rows of " + (seq + 1) + " tokens"
                        + (minContext == 0 ? "" : ", packed with samples of at least " + minContext)
                        + (promptWeight == 1 ? "" : ", KL weight " + promptWeight + " on prompt positions")
                        + (settings.endShare() == 0 ? "" : ", share " + settings.endShare() + " where an answer ends");
            }
            case "teacher" -> {
                Path file = out.resolve("teacher_samples.bin");
                int[] stream = TeacherSamples.loadOrSample(
                        file,
                        loaded.model(),
                        tokenizer.bosId(),
                        loaded::isEndOfGeneration,
                        teacherTokens,
                        seq + 1,
                        seed,
                        teacherProgress);
                source = new TokenStreamSource(stream, seed);
                description = String.format(
                        Locale.ROOT, "%,d tokens sampled from the teacher (%s)", stream.length, file.getFileName());
            }
            default -> {
                Path file = Path.of(data);
                if (!Files.isRegularFile(file)) {
                    throw new IllegalArgumentException(
                            "--data: " + data + " is neither \"tasks\", \"teacher\" nor a text file");
                }
                TokenStreamSource text = TextFileSource.open(file, tokenizer, seed);
                source = text;
                description = String.format(Locale.ROOT, "%,d tokens of %s", text.length(), file.getFileName());
            }
        }
        DmsBiasHook hook =
                new DmsBiasHook(student.config, batch, seq, TAU, settings.maxOvershoot(), settings.hingeScope());
        Transformer teacher = r.mode() == Mode.ADAPTER ? null : new Transformer(original);
        RetrofitLoss loss = new RetrofitLoss(teacher, hook, schedule, seed, tokenizer.eosId());
        Trainer trainer = new Trainer(cfg, student, source, loss);
        trainer.setSpecialTokens(tokenizer.bosId(), tokenizer.eosId());
        return new Retrofit(settings, out, trainer, loss, description);
    }

    /** w = context / 16 within [4, 512] (the reference's 512 at 8K+ contexts; about 64 at the demo's 1024). */
    public static int defaultWindow(int context) {
        return Math.max(4, Math.min(512, context / 16));
    }

    /**
     * The student of {@code original}: the same weights with DMS decisions of the mode's variant (window
     * {@code window}, scale 100, offset 5), initialised to "evict nothing" as the class comment describes.
     */
    public static TrainWeights student(TrainWeights original, Mode mode, int window) {
        LlamaConfig oc = original.config;
        DmsConfig dms = new DmsConfig(
                window,
                100f,
                5f,
                mode == Mode.FULL ? DmsConfig.Variant.QUERY_CHANNEL : DmsConfig.Variant.ADAPTER,
                false);
        TrainWeights s = new TrainWeights(oc.withDms(dms));
        for (Parameter p : s.parameters()) {
            Parameter from = original.get(p.name());
            if (from != null) {
                System.arraycopy(from.data(), 0, p.data(), 0, p.size());
            } else if (p.kind() == Parameter.Kind.NORM) {
                java.util.Arrays.fill(p.data(), 1f); // dms_proj_alpha_norm
            } else {
                java.util.Arrays.fill(p.data(), 0f); // dms_proj_alpha
            }
        }
        if (mode == Mode.FULL) {
            int hs = oc.headSize();
            for (int l = 0; l < oc.layers(); l++) {
                for (int j = 0; j < oc.kvHeads(); j++) {
                    int row = j * oc.groupSize() * hs + hs - 1;
                    java.util.Arrays.fill(s.wq[l].data(), row * oc.dim(), (row + 1) * oc.dim(), 0f);
                    if (s.qkvBias) {
                        s.qBias[l].data()[row] = 0f;
                    }
                }
            }
        }
        return s;
    }

    public Settings settings() {
        return settings;
    }

    public Trainer trainer() {
        return trainer;
    }

    public RetrofitLoss loss() {
        return loss;
    }

    public DmsSchedule schedule() {
        return schedule;
    }

    public String dataDescription() {
        return dataDescription;
    }

    public long trainableParameters() {
        return trainable;
    }

    /**
     * Continues from the checkpoint in OUT (which must have been made with the same settings, except the step
     * count and checkpoint interval); returns whether there was one.
     */
    public boolean resume() throws IOException {
        if (Checkpoint.locate(out) == null) {
            return false;
        }
        return trainer.resume();
    }

    /**
     * Settings that runs made before them do not name in their retrofit.json, with the value such a run had: no
     * holds, every position weighted 1, one sample per row, the paper's one-sided hinge over the whole model, a constant
     * learning rate.
     */
    private static final Map<String, Object> ADDED_LATER = Map.of(
            "holds",
            "",
            "prompt_weight",
            1.0,
            "min_context",
            0,
            "max_overshoot",
            "none",
            "lr_decay",
            false,
            "end_share",
            0.0,
            "hinge_scope",
            "model");

    /**
     * Refuses settings other than those {@code out}'s checkpoint was made with (its retrofit.json; the step count may
     * change), before any work is done for them.
     */
    private static void requireSameSettings(Path out, Settings settings) throws IOException {
        Path file = out.resolve("retrofit.json");
        if (Files.isRegularFile(file)) {
            JsonNode saved = JSON.readTree(file.toFile());
            Map<String, Object> now = settings.json();
            for (Map.Entry<String, Object> e : now.entrySet()) {
                if (e.getKey().equals("steps")) {
                    continue;
                }
                JsonNode old = saved.get(e.getKey());
                String was = old == null ? "nothing" : old.isString() ? old.asString() : old.toString();
                String is = String.valueOf(e.getValue());
                boolean same = old == null && java.util.Objects.equals(ADDED_LATER.get(e.getKey()), e.getValue())
                        || old != null
                                && (old.isNumber()
                                        ? old.asDouble() == ((Number) e.getValue()).doubleValue()
                                        : was.equals(is));
                if (!same) {
                    throw new IllegalArgumentException("--resume: " + out + " was started with " + e.getKey() + " = "
                            + was + ", this run asks for " + is + "; resume with the same settings");
                }
            }
        }
    }

    /** Trains to the configured step count; writes milestones, checkpoints and the final model. */
    public void run(Listener listener) throws IOException {
        JSON.writerWithDefaultPrettyPrinter()
                .writeValue(out.resolve("retrofit.json").toFile(), settings.json());
        java.util.TreeSet<Double> milestones = new java.util.TreeSet<>();
        for (int n = 2; n < settings.targetCr(); n++) {
            milestones.add((double) n);
        }
        for (DmsSchedule.Hold h : schedule.holds()) {
            milestones.add(h.cr());
        }
        long start = System.nanoTime();
        int total = settings.steps();
        RetrofitLoss.StepMetrics m = null;
        try (StepLog log = new StepLog(out.resolve("train_log.jsonl"), trainer.step())) {
            while (trainer.step() < total) {
                StepResult r = trainer.trainStep(start);
                m = loss.lastStep();
                log.write(String.format(
                        Locale.ROOT,
                        "{\"step\":%d,\"loss\":%.6f,\"kl\":%.6f,\"hinge\":%.6f,\"frac_closed\":%.6f,\"train_cr\":%.4f,"
                                + "\"target_cr\":%.4f,\"lr\":%.6e,\"grad_norm\":%.6f,\"tokens\":%d,\"elapsed_s\":%.3f}",
                        r.step(),
                        r.loss(),
                        m.kl(),
                        m.hinge(),
                        m.fracClosed(),
                        m.trainCr(),
                        m.targetCr(),
                        r.lr(),
                        r.gradNorm(),
                        r.tokens(),
                        r.elapsedSeconds()));
                if (listener != null) {
                    listener.afterStep(r, m, total);
                }
                boolean milestone = false;
                for (double n : milestones) {
                    if (r.step() == schedule.lastStepAt(n) + 1) {
                        save("cr" + format(n), m, listener);
                        milestone = true;
                    }
                }
                boolean due = settings.checkpointEvery() > 0 && r.step() % settings.checkpointEvery() == 0;
                if (due || milestone || r.step() == total) {
                    trainer.checkpoint();
                }
            }
        }
        if (m == null) {
            m = new RetrofitLoss.StepMetrics(Double.NaN, Double.NaN, Double.NaN, schedule.targetFraction(total - 1));
        }
        save("model", m, listener);
        if (schedule.cr(total - 1) >= settings.targetCr()) {
            save("cr" + format(settings.targetCr()), m, listener);
        }
    }

    private void save(String name, RetrofitLoss.StepMetrics m, Listener listener) throws IOException {
        Path dir = trainer.saveModel(out.resolve(name));
        Map<String, Object> info = new LinkedHashMap<>(settings.json());
        info.put("step", trainer.step());
        info.put("scheduled_cr", schedule.cr(Math.max(0, trainer.step() - 1)));
        info.put("train_cr", m.trainCr());
        info.put("train_frac_closed", m.fracClosed());
        info.put("train_kl", m.kl());
        JSON.writerWithDefaultPrettyPrinter()
                .writeValue(dir.resolve("retrofit.json").toFile(), info);
        if (listener != null) {
            listener.saved(name, dir, m);
        }
    }

    static String format(double cr) {
        return cr == Math.rint(cr) ? Long.toString((long) cr) : Double.toString(cr);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
