package dev.kvslim.cli;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.tensor.Parallel;
import dev.kvslim.eval.cache.CacheGrid;
import dev.kvslim.eval.report.EvalReport;
import dev.kvslim.eval.result.EvalResult;
import dev.kvslim.eval.result.ResultJson;
import dev.kvslim.eval.result.ResultTable;
import dev.kvslim.eval.task.SampleOutcome;
import dev.kvslim.eval.task.TaskEvaluator;
import dev.kvslim.eval.task.TaskRun;
import dev.kvslim.eval.text.TextEvaluator;
import dev.kvslim.tasks.Sample;
import dev.kvslim.tasks.Task;
import dev.kvslim.tasks.synthetic.TaskSuite;
import dev.kvslim.tasks.text.TextFileSource;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Accuracy (task models) or KL and perplexity (text models) under KV-cache compression, over a grid of policies and
 * ratios; and the Markdown and PNG report of such results.
 */
@Command(
        name = "eval",
        mixinStandardHelpOptions = true,
        description = {
            "Evaluate a model under KV-cache compression: exact-match accuracy on held-out task samples"
                    + " (--task), or KL and perplexity against the uncompressed cache on a text (--text); per (task,"
                    + " policy, ratio) also the achieved compression ratio, peak live KV bytes and decode tokens/s.",
            "With --report DIR, writes results.md and PNG plots from --results FILE (or from this run)."
        })
final class EvalCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            description = "Model: a Hugging Face folder (the demo model's holds tokenizer.json),"
                    + " a GGUF file, or a llama2.c checkpoint.")
    Path model;

    @Option(names = "--tokenizer", description = "Tokenizer, when the model does not carry one (as for generate).")
    Path tokenizer;

    @Option(names = "--label", description = "Name of the model in results (default: its file or folder name).")
    String label;

    @Option(
            names = "--task",
            description = "Tasks: a comma-separated list of needle, vartrack, arithmetic, runsum," + " or all.")
    String task;

    @Option(
            names = "--text",
            description = "A UTF-8 text to teacher-force (text models, e.g. stories260K): reports"
                    + " KL(dense || compressed) per token and perplexity instead of accuracy.")
    Path text;

    @Option(
            names = "--kv-policy",
            defaultValue = "none",
            description =
                    "KV policies, comma-separated: none, dms,"
                            + " streaming, h2o, tova, snapkv, knorm, keydiff, expected-attention, adakv, duo, kvzip, random, or all (dms only for DMS models). Default: ${DEFAULT-VALUE}.")
    String policy;

    @Option(
            names = "--kv-ratio",
            description = "Target compression ratios of the baselines, comma-separated (e.g."
                    + " 1,2,4,8). With none in the grid, baselines skip ratio 1 (it keeps every token, as none does).")
    String ratio;

    @Option(
            names = "--seed",
            defaultValue = "0",
            description = "Run seed: sample n is the task's held-out sample"
                    + " Split.EVAL.seed(seed * 2^20 + n); it also seeds the random policy. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(
            names = "--samples",
            defaultValue = "20",
            description = "Samples per task, or windows of the text." + " Default: ${DEFAULT-VALUE}.")
    int samples;

    @Option(
            names = "--context",
            description =
                    "Context length of the samples (and text windows). Default: the" + " model's trained context.")
    Integer context;

    @Option(
            names = "--allow-long-context",
            description =
                    "Let --context exceed the model's trained context (positions" + " past it were never trained).")
    boolean allowLongContext;

    @Option(
            names = "--votes",
            defaultValue = "1",
            description = "Generations per sample, sampled at --temperature,"
                    + " scored by majority vote over their final answers (the paper's parallel-samples axis; each generation"
                    + " has its own cache). Default: ${DEFAULT-VALUE}.")
    int votes;

    @Option(
            names = "--temperature",
            defaultValue = "0",
            description = "Sampling temperature of the generations; 0 is"
                    + " greedy (needs --votes 1). Default: ${DEFAULT-VALUE}.")
    float temperature;

    @Option(
            names = "--lanes",
            defaultValue = "32",
            description = "Samples decoded together in one batched forward" + " pass. Default: ${DEFAULT-VALUE}.")
    int lanes;

    @Option(
            names = "--margin",
            defaultValue = "8",
            description = "Tokens a generation may run past the target's"
                    + " length (never past the context). Default: ${DEFAULT-VALUE}.")
    int margin;

    @Option(
            names = "--kv-type",
            defaultValue = "f32",
            description = "Element type of cached keys and values: f32, f16, bf16, q8_0 or q4_0"
                    + " (llama.cpp's -ctk/-ctv types). Default: ${DEFAULT-VALUE}.")
    String kvType;

    @Mixin
    RenamedKvFlags renamed;

    @Option(names = "--show", description = "Print every sample's answer and generated text to stderr.")
    boolean show;

    @Option(names = "--json", description = "Print one JSON object per result line instead of a table.")
    boolean json;

    @Option(names = "--out", description = "Append the results to this file as JSON lines.")
    Path out;

    @Option(names = "--report", description = "Write DIR/results.md and PNG plots: from --results, else from this run.")
    Path report;

    @Option(names = "--results", description = "JSON-lines results (from --out) to report on, with --report.")
    Path results;

    @Override
    public Integer call() throws Exception {
        PrintStream err = System.err;
        if (results != null && report == null) {
            throw new IllegalArgumentException("--results names results to report on; it needs --report DIR");
        }
        if (report != null && results != null) {
            if (model != null) {
                throw new IllegalArgumentException("--report with --results reports on saved results; drop --model,"
                        + " or drop --results to run the grid first");
            }
            if (!Files.isRegularFile(results)) {
                throw new IllegalArgumentException("results file " + results + " does not exist");
            }
            writeReport(ResultJson.read(results), err);
            return 0;
        }
        List<EvalResult> all = evaluate(err);
        if (!json) {
            System.out.print(ResultTable.render(all));
        }
        if (report != null) {
            writeReport(all, err);
        }
        return 0;
    }

    private List<EvalResult> evaluate(PrintStream err) {
        if (model == null) {
            throw new IllegalArgumentException("--model is required (or --report DIR --results FILE)");
        }
        if (!Files.exists(model)) {
            throw new IllegalArgumentException("model " + model + " does not exist");
        }
        if ((task == null) == (text == null)) {
            throw new IllegalArgumentException("pass one of --task (task models) and --text (text models)");
        }
        List<Double> ratios = ratio == null ? List.of() : CacheGrid.ratios(ratio);
        KvType type = KvType.parse(kvType);
        List<Task> tasks = task == null ? List.of() : tasks(task);
        LoadedModel loaded = ModelLoader.load(model, tokenizer);
        boolean dmsModel = loaded.model().config().dms() != null;
        List<String> policies = CacheGrid.policies(policy, dmsModel);
        List<KvCacheSpec.Paged> specs =
                CacheGrid.expand(policies, ratios, loaded.model().config().kvShape(), seed);
        int trained = loaded.model().config().contextLength();
        int ctx = context != null ? context : trained;
        if (ctx > trained && !allowLongContext) {
            throw new IllegalArgumentException(
                    "--context " + ctx + " is beyond the model's trained context of " + trained
                            + " tokens (positions past it were never trained); pass --allow-long-context to run it anyway");
        }
        String name = label != null
                ? label
                : model.toAbsolutePath().normalize().getFileName().toString();
        err.printf(
                "model: %s (%s), %d threads; context %d; %d cache settings%n",
                loaded.path(), loaded.format(), Parallel.threads(), ctx, specs.size());
        List<EvalResult> all = new ArrayList<>();
        long start = System.nanoTime();
        if (text != null) {
            if (samples < 1) {
                throw new IllegalArgumentException("--samples must be at least 1, got " + samples);
            }
            // against the F32 cache that keeps every token: a cache that evicts, or any cache in another --kv-type
            // (KVzip replays each prompt, and a text window has none: left out of all, refused where named)
            boolean kvzipNamed = java.util.Arrays.stream(policy.split(","))
                    .anyMatch(p -> p.strip().equalsIgnoreCase("kvzip"));
            List<KvCacheSpec.Paged> compressed = specs.stream()
                    .filter(spec -> spec.evicts() || type != KvType.F32)
                    .filter(spec -> kvzipNamed || !spec.replaysContext())
                    .toList();
            if (compressed.isEmpty()) {
                throw new IllegalArgumentException("--text compares compressed caches with the full F32 one: give"
                        + " --kv-policy a compressing policy (and --kv-ratio), or --kv-type another element type");
            }
            if (votes != 1 || temperature != 0) {
                throw new IllegalArgumentException("--votes and --temperature are for task runs: --text teacher-forces"
                        + " the text, it generates nothing");
            }
            if (!Files.isRegularFile(text)) {
                throw new IllegalArgumentException(text + " does not exist or is not a file");
            }
            if (isBlank(text)) {
                throw new IllegalArgumentException(text + " holds no text: --text needs a text to teacher-force");
            }
            int[] tokens = new TextFileSource(loaded.tokenizer(), List.of(text)).tokens();
            List<EvalResult> rs = new TextEvaluator(loaded.model(), new TextEvaluator.Settings(samples, seed, type))
                    .run(name, text.getFileName().toString(), TextEvaluator.windows(tokens, ctx), compressed);
            rs.forEach(r -> emit(r, all));
        } else {
            TaskEvaluator evaluator = new TaskEvaluator(
                    loaded.model(),
                    loaded.tokenizer(),
                    loaded::isEndOfGeneration,
                    new TaskEvaluator.Settings(ctx, samples, seed, lanes, margin, type, votes, temperature));
            evaluator.warmUp(
                    tasks.getFirst(),
                    specs.stream()
                            .map(KvCacheSpec::name)
                            .distinct()
                            .map(p -> specs.stream()
                                    .filter(sp -> sp.name().equals(p))
                                    .findFirst()
                                    .orElseThrow())
                            .toList());
            start = System.nanoTime();
            for (Task t : tasks) {
                var samplesOf = evaluator.samples(t);
                for (KvCacheSpec.Paged spec : specs) {
                    TaskRun run = evaluator.run(t.name(), samplesOf, t, spec);
                    err.printf(
                            Locale.ROOT,
                            "%s %s: %d/%d correct, compression %.2fx, %.1f s%n",
                            t.name(),
                            spec.label(),
                            run.correct(),
                            run.samples(),
                            run.achievedRatio(),
                            run.wallNanos() / 1e9);
                    if (show) {
                        for (int n = 0; n < run.samples(); n++) {
                            List<SampleOutcome> gens = run.generationsOf(n);
                            Sample sample = gens.getFirst().sample();
                            err.printf(
                                    "  seed %d answer %s %s%s%n",
                                    sample.seed(),
                                    sample.answer(),
                                    run.solved(n) ? "right" : "wrong",
                                    votes == 1
                                            ? ": " + gens.getFirst().text().strip()
                                            : " (vote: " + TaskRun.majority(gens) + ")");
                            for (int v = 0; votes > 1 && v < gens.size(); v++) {
                                err.printf(
                                        "    vote %d: %s%n",
                                        v, gens.get(v).text().strip());
                            }
                        }
                    }
                    emit(run.toResult(name, ctx, seed), all);
                }
            }
        }
        err.printf(Locale.ROOT, "evaluated %d results in %.1f s%n", all.size(), (System.nanoTime() - start) / 1e9);
        return all;
    }

    private void emit(EvalResult r, List<EvalResult> all) {
        all.add(r);
        if (json) {
            System.out.println(ResultJson.line(r));
            System.out.flush();
        }
        if (out != null) {
            ResultJson.append(out, List.of(r));
        }
    }

    /** Whether {@code file} holds nothing but white space (read leniently: the text reader names bad bytes later). */
    private static boolean isBlank(Path file) {
        try {
            return new String(Files.readAllBytes(file), java.nio.charset.StandardCharsets.UTF_8).isBlank();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + file, e);
        }
    }

    private void writeReport(List<EvalResult> rs, PrintStream err) throws java.io.IOException {
        List<Path> written = EvalReport.write(rs, report);
        for (Path p : written) {
            err.println("wrote " + p);
        }
    }

    private static List<Task> tasks(String list) {
        Set<Task> out = new LinkedHashSet<>();
        for (String item : list.split(",", -1)) {
            String n = item.trim().toLowerCase(Locale.ROOT);
            if (n.equals("all")) {
                out.addAll(TaskSuite.all());
            } else if (!n.isEmpty()) {
                out.add(TaskSuite.named(n));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("--task needs at least one task name (or all)");
        }
        return List.copyOf(out);
    }
}
