package dev.kvslim.cli;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvPolicies;
import dev.kvslim.core.kv.KvShape;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.eval.task.TaskEvaluator;
import dev.kvslim.serve.savings.SavingsReport;
import dev.kvslim.serve.savings.Workload;
import dev.kvslim.tasks.Sample;
import dev.kvslim.tasks.Task;
import dev.kvslim.tasks.synthetic.TaskSuite;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * What KV compression saves in serving: one workload through the server's scheduler, in process, with the DMS cache
 * (or a named baseline policy for a model without DMS) and with the uncompressed cache, side by side.
 */
@Command(
        name = "savings",
        mixinStandardHelpOptions = true,
        description = "Run a workload through the server's scheduler with the compressed KV cache (DMS, or --kv-policy)"
                + " and with the uncompressed one in the same KV budget, and print KV bytes per sequence, how many"
                + " sequences fit, throughput and cost per million tokens side by side.")
final class SavingsCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            required = true,
            description = "The model: a Hugging Face folder, a GGUF file, or a" + " llama2.c checkpoint.")
    Path model;

    @Option(names = "--tokenizer", description = "Tokenizer for a llama2.c checkpoint without tokenizer.bin beside it.")
    Path tokenizer;

    @Option(
            names = "--workload",
            description = "Requests to run: a JSON Lines file, {\"prompt\": \"...\", \"max_tokens\": 128} a line;"
                    + " or 'tasks': the task suite's held-out samples at the model's context, each prompt generating as"
                    + " many tokens as its full answer (chain of thought included), --samples of each task in turn"
                    + " (default: 32 built-in story prompts of 64 to 256 tokens).")
    String workload;

    @Option(
            names = "--samples",
            defaultValue = "16",
            description = "With --workload tasks: samples of each task (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(
            names = "--max-tokens",
            description = "Generate at most this many tokens per request (fewer where the workload asks for fewer);"
                    + " 1 measures what the prompts alone cost (give --kv-budget to keep the budget of the full run).")
    Integer maxTokens;

    @Option(
            names = "--kv-type",
            defaultValue = "f32",
            description = "Element type of cached keys and values, for both caches: f32, f16, bf16, q8_0, q4_0"
                    + " (default: ${DEFAULT-VALUE}).")
    String kvType;

    @Option(
            names = "--json",
            description = "Print one JSON object (the settings, then the figures of each cache under its name and"
                    + " 'uncompressed') instead of the table.")
    boolean json;

    @Option(
            names = "--kv-budget",
            converter = ByteSize.class,
            description = "KV budget in bytes both caches run in,"
                    + " e.g. 16MiB (default: room for 8 uncompressed sequences of the workload's longest request in the"
                    + " --kv-type).")
    Long budget;

    @Option(
            names = "--price-per-hour",
            defaultValue = "1.0",
            description = "What the machine costs per hour, for the"
                    + " cost per million tokens (default: ${DEFAULT-VALUE}).")
    double pricePerHour;

    @Option(
            names = "--kv-policy",
            defaultValue = "dms",
            description = "The compressing cache: dms (the model's"
                    + " learned eviction) or a training-free policy (streaming, h2o, tova, snapkv, knorm, keydiff, expected-attention, adakv, duo, random), needed for a"
                    + " model without DMS (default: ${DEFAULT-VALUE}).")
    String policy;

    @Option(
            names = "--kv-ratio",
            description = "Compression ratio a training-free --kv-policy keeps to (default: 4"
                    + " unless --kv-tokens is given).")
    Double ratio;

    @Option(names = "--kv-tokens", description = "Tokens per (layer, KV head) a training-free --kv-policy keeps.")
    Integer tokens;

    @Mixin
    RenamedKvFlags renamed;

    /** The compressing cache: the policy asked for, else DMS, which the model must have. */
    KvCacheSpec.Paged compressedCache(LoadedModel loaded) {
        KvShape shape = loaded.model().config().kvShape();
        boolean baseline = KvCacheSpec.isBaseline(policy);
        KvCacheSpec spec;
        try {
            spec = KvCacheSpec.parse(
                    policy,
                    baseline && ratio == null && tokens == null ? Double.valueOf(4) : ratio,
                    tokens,
                    null,
                    shape);
        } catch (IllegalArgumentException e) {
            if (!baseline && !shape.hasDms()) {
                throw new IllegalArgumentException(
                        model + " has no DMS metadata (it was not retrofitted with DMS), so"
                                + " there is no DMS cache to measure: compare a training-free policy instead, e.g. --kv-policy"
                                + " tova --kv-ratio 4",
                        e);
            }
            throw e;
        }
        if (!spec.evicts()) {
            throw new IllegalArgumentException("--kv-policy " + spec.name() + " does not compress: name dms or a policy"
                    + " that evicts, one of " + String.join(", ", KvPolicies.NAMES));
        }
        spec.requireNoReplay("savings");
        return (KvCacheSpec.Paged) spec;
    }

    @Override
    public Integer call() throws InterruptedException {
        if (!(pricePerHour >= 0)) {
            throw new IllegalArgumentException("--price-per-hour must be 0 or more, got " + pricePerHour);
        }
        LoadedModel loaded = ModelLoader.load(model, tokenizer);
        KvCacheSpec.Paged compressed = compressedCache(loaded);
        KvType type = KvType.parse(kvType);
        Workload w = workload == null
                ? Workload.builtIn()
                : workload.equals("tasks")
                        ? tasks(loaded.model().config().contextLength())
                        : Workload.read(Path.of(workload));
        if (maxTokens != null) {
            w = capped(w, maxTokens);
        }
        long b = budget != null ? budget : SavingsReport.defaultBudget(loaded, w, 8, type);
        if (b <= 0) {
            throw new IllegalArgumentException("--kv-budget must be positive, got " + b);
        }
        System.err.printf(
                "kvslim: running %d requests with the %s cache, then uncompressed, in %,d bytes of %s KV...%n",
                w.requests().size(), compressed.label(), b, type);
        SavingsReport report = SavingsReport.measure(loaded, w, compressed, b, type);
        System.out.print(json ? report.toJson(pricePerHour) + System.lineSeparator() : report.format(pricePerHour));
        return 0;
    }

    /** {@code w} with each request generating at most {@code max} tokens. */
    static Workload capped(Workload w, int max) {
        if (max < 1) {
            throw new IllegalArgumentException("--max-tokens must be at least 1, got " + max);
        }
        return new Workload(
                w.name() + ", at most " + max + " tokens each",
                w.requests().stream()
                        .map(r -> new Workload.Request(r.prompt(), Math.min(r.maxTokens(), max)))
                        .toList());
    }

    /**
     * The task suite's held-out samples (eval's samples 0 .. --samples-1 of each task, interleaved) for a context of
     * {@code context} tokens, each asking for as many tokens as its target: long generations of about the context.
     */
    Workload tasks(int context) {
        if (samples < 1) {
            throw new IllegalArgumentException("--samples must be at least 1, got " + samples);
        }
        List<Workload.Request> requests = new ArrayList<>();
        for (int n = 0; n < samples; n++) {
            for (Task task : TaskSuite.all()) {
                Sample s = task.generate(TaskEvaluator.sampleSeed(0, n), context);
                requests.add(new Workload.Request(s.prompt(), s.target().length()));
            }
        }
        return new Workload(
                "tasks (" + samples + " held-out samples of each of "
                        + TaskSuite.all().size() + " tasks at context " + context + ", prompt and full answer)",
                requests);
    }
}
