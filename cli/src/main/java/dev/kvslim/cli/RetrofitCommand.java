package dev.kvslim.cli;

import dev.kvslim.train.checkpoint.Checkpoint;
import dev.kvslim.train.dms.DmsBiasHook;
import dev.kvslim.train.dms.DmsSchedule;
import dev.kvslim.train.dms.Retrofit;
import dev.kvslim.train.report.RetrofitPlot;
import dev.kvslim.train.report.RetrofitProgress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.IntConsumer;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Retrofits Dynamic Memory Sparsification into a model: learned per-head KV eviction, trained against the original. */
@Command(
        name = "retrofit",
        mixinStandardHelpOptions = true,
        description = {
            "Retrofit DMS (learned KV-cache eviction) into a model by distillation from the original.",
            "Writes OUT/model, OUT/crN at each integer compression ratio on the way and at the target, a checkpoint"
                    + " (--resume) and OUT/train_log.jsonl. The outputs carry the dms_* config keys, so generate, chat"
                    + " and serve run them with the DMS cache."
        })
final class RetrofitCommand implements Callable<Integer> {

    @Option(names = "--teacher", required = true, description = "The original model (a Hugging Face folder).")
    Path teacher;

    @Option(names = "--out", required = true, description = "Output folder.")
    Path out;

    @Option(
            names = "--target-cr",
            defaultValue = "8",
            description = "Target compression ratio (>= 1; default ${DEFAULT-VALUE}).")
    double targetCr;

    @Option(
            names = "--mode",
            defaultValue = "adapter",
            converter = ModeConverter.class,
            description =
                    "full: decision from a query channel, every weight trains (the paper); adapter: a zero-initialised"
                            + " adapter, base frozen (NVIDIA's recipe); adapter-full: the adapter, every weight"
                            + " trains. Default ${DEFAULT-VALUE}.")
    Retrofit.Mode mode;

    /** An option's value read by name; a name the parser does not know is a usage error (exit 2), not a failure. */
    abstract static class NameConverter<T> implements CommandLine.ITypeConverter<T> {
        abstract T parse(String name);

        @Override
        public final T convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** {@code --mode}'s names ({@link Retrofit.Mode#optionName}). */
    static final class ModeConverter extends NameConverter<Retrofit.Mode> {
        @Override
        Retrofit.Mode parse(String name) {
            return Retrofit.Mode.ofOptionName(name);
        }
    }

    @Option(names = "--window", description = "Eviction delay w in tokens (default: context/16 within [4, 512]).")
    Integer window;

    @Option(
            names = "--steps",
            description =
                    "Optimiser steps (default: the ramp to the target plus 3/7 of it at the target, 1,000 for CR 8"
                            + " at 100 steps per unit, as the paper; plus the steps of any --hold).")
    Integer steps;

    @Option(
            names = "--steps-per-cr",
            description = "Steps per unit of compression ratio in the schedule (default 100).")
    Double stepsPerCr;

    @Option(
            names = "--hold",
            split = ",",
            paramLabel = "CR:STEPS",
            description = "Pause the ramp at a ratio below the target for extra steps, e.g. 4:150 (repeatable or"
                    + " comma-separated); the crN model of a held ratio is written at the end of its hold. Default: none,"
                    + " the paper's plain linear ramp.")
    List<String> holds = new ArrayList<>();

    @Option(
            names = "--data",
            defaultValue = "teacher",
            description =
                    "tasks (the task suite, demo tokenizer), teacher (sequences sampled from the teacher, cached in"
                            + " OUT) or a text file. Default ${DEFAULT-VALUE}.")
    String data;

    @Option(names = "--teacher-tokens", description = "Tokens to sample for --data teacher (default 65536).")
    Integer teacherTokens;

    @Option(
            names = "--prompt-weight",
            description = "With --data tasks: weight of prompt positions in the distillation KL, targets 1 (default 1,"
                    + " every position alike). Below 1 the loss looks harder at the answers, which a row of 4,096"
                    + " tokens holds only a few of.")
    Float promptWeight;

    @Option(
            names = "--min-context",
            description = "With --data tasks: pack each row with samples of at least this many tokens (lengths drawn"
                    + " log-uniformly up to the row's, as pretrain's data.min_context) instead of one sample per row"
                    + " (default 0: one per row).")
    Integer minContext;

    @Option(
            names = "--max-overshoot",
            description = "Push decisions back when a row evicts more than the target ratio plus this (a second side"
                    + " to the paper's one-sided hinge; 0: two-sided). The paper's KL holds the ratio down on its own;"
                    + " one that sees only a few positions of a row (--prompt-weight 0) does not, and the ratio"
                    + " overshoots the target. Default: none.")
    Double maxOvershoot;

    @Option(
            names = "--end-share",
            description = "With --data tasks: the two positions where an answer stops (its terminator and EOS) each"
                    + " weigh this share of the answer's length in the KL, at least 1 (default 0: 1, as every"
                    + " answer position). Where a 2,000-token trace stops is otherwise one position in thousands.")
    Float endShare;

    @Option(
            names = "--hinge-scope",
            defaultValue = "model",
            converter = ScopeConverter.class,
            description =
                    "What the compression hinge holds to the target: model, each row's evicted fraction over every"
                            + " layer and head (the paper); layer, each layer's own, so no layer keeps more than the target"
                            + " allows at another's expense. Default ${DEFAULT-VALUE}.")
    DmsBiasHook.Scope hingeScope;

    /** {@code --hinge-scope}'s names ({@link DmsBiasHook.Scope#optionName}). */
    static final class ScopeConverter extends NameConverter<DmsBiasHook.Scope> {
        @Override
        DmsBiasHook.Scope parse(String name) {
            return DmsBiasHook.Scope.ofOptionName(name);
        }
    }

    @Option(
            names = "--base-lr",
            description = "With --mode adapter-full: learning rate of every weight but the adapter (default: the"
                    + " reference's 3e-5, or --lr if lower).")
    Float baseLr;

    @Option(
            names = "--lr-decay",
            description = "Let the learning rate fall along a half cosine to 0 over the steps after the ramp reaches"
                    + " the target (default: constant, as the reference).")
    boolean lrDecay;

    @Option(
            names = "--lr",
            description =
                    "Learning rate, constant unless --lr-decay (default max(3e-5, 0.04 / hidden size): 3.1e-4 for the"
                            + " demo model, the reference's 3e-5 for hidden sizes from 1,334).")
    Float lr;

    @Option(names = "--batch", description = "Rows per step (default 4).")
    Integer batch;

    @Option(names = "--seq", description = "Tokens per row (default: the teacher's context - 1).")
    Integer seq;

    @Option(names = "--seed", description = "Seed of data order and noise (default 42).")
    Long seed;

    @Option(
            names = "--checkpoint-every",
            description = "Steps between checkpoints (default 50; 0: milestones and end).")
    Integer checkpointEvery;

    @Option(names = "--threads", description = "Worker threads (default: all cores).")
    Integer threads;

    @Option(names = "--resume", description = "Continue from the checkpoint in OUT.")
    boolean resume;

    @Option(
            names = "--overwrite",
            description = "Start over in an OUT that holds an earlier run (its checkpoint, step log and settings are"
                    + " deleted first).")
    boolean overwrite;

    @Option(names = "--plot", description = "Write achieved/target CR and KL per step to this PNG at the end.")
    Path plot;

    @Override
    public Integer call() throws Exception {
        if (threads != null) {
            if (threads <= 0) {
                throw new IllegalArgumentException("--threads must be > 0, got " + threads);
            }
            System.setProperty("kvslim.threads", Integer.toString(threads));
        }
        if (resume && overwrite) {
            throw new IllegalArgumentException(
                    "--resume continues the run in OUT, --overwrite starts it over: choose one");
        }
        List<Path> earlier = Stream.of(
                        out.resolve(Checkpoint.NAME),
                        out.resolve("checkpoint.old"),
                        out.resolve("train_log.jsonl"),
                        out.resolve("retrofit.json"))
                .filter(Files::exists)
                .toList();
        if (!resume && !earlier.isEmpty()) {
            if (!overwrite) {
                throw new IllegalArgumentException(
                        out + " already holds a retrofit (" + earlier.getFirst().getFileName()
                                + "): pass --resume to continue it, --overwrite to start it over, or choose another --out");
            }
            for (Path p : earlier) {
                Checkpoint.deleteTree(p);
            }
        }
        int[] lastShown = {-1};
        IntConsumer sampling = percent -> {
            if (percent != lastShown[0]) {
                lastShown[0] = percent;
                System.err.printf(Locale.ROOT, "\rretrofit: sampling training text from the teacher: %d%%", percent);
                if (percent >= 100) {
                    System.err.println();
                }
            }
        };
        Retrofit run = Retrofit.open(
                new Retrofit.Request(
                        teacher,
                        out,
                        mode,
                        targetCr,
                        window,
                        stepsPerCr,
                        holds.stream().map(DmsSchedule.Hold::parse).toList(),
                        steps,
                        data,
                        lr,
                        batch,
                        seq,
                        seed,
                        checkpointEvery,
                        teacherTokens,
                        promptWeight,
                        minContext,
                        maxOvershoot,
                        lrDecay,
                        baseLr,
                        endShare,
                        hingeScope),
                sampling);
        if (resume && !run.resume()) {
            throw new IllegalArgumentException("--resume: no complete checkpoint in " + out);
        }
        Retrofit.Settings s = run.settings();
        System.err.printf(
                Locale.ROOT,
                "retrofit: %s mode, %,d of %,d parameters train, window %d, CR 1 -> %s over %d steps"
                        + " (%s steps per unit%s%s), %d steps, lr %.1e%s, B=%d T=%d, %s, %d threads%s%n",
                s.mode().optionName(),
                run.trainableParameters(),
                run.trainer().weights().count(),
                s.window(),
                s.targetCr(),
                run.schedule().firstStepAt(s.targetCr()),
                s.stepsPerCr(),
                s.holds().isEmpty() ? "" : ", holds " + s.holdsText(),
                s.hingeScope() == DmsBiasHook.Scope.LAYER ? ", every layer held to it" : "",
                s.steps(),
                s.lr(),
                s.mode() == Retrofit.Mode.ADAPTER_FULL ? String.format(Locale.ROOT, " (base %.1e)", s.baseLr()) : "",
                s.batch(),
                s.seq(),
                run.dataDescription(),
                dev.kvslim.core.tensor.Parallel.threads(),
                run.trainer().step() > 0 ? ", resumed at step " + run.trainer().step() : "");
        run.run(new RetrofitProgress(System.err, run.trainer().step()));
        System.err.println("retrofit: done; step log " + out.resolve("train_log.jsonl"));
        if (plot != null) {
            RetrofitPlot.write(out.resolve("train_log.jsonl"), plot);
            System.err.println("retrofit: plot " + plot);
        }
        return 0;
    }
}
