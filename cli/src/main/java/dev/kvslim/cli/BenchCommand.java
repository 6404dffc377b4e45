package dev.kvslim.cli;

import dev.kvslim.bench.CapacityBenchmark;
import dev.kvslim.bench.EngineBenchmark;
import dev.kvslim.bench.FleetBenchmark;
import dev.kvslim.bench.KernelBenchmark;
import dev.kvslim.bench.KvCacheBenchmark;
import dev.kvslim.bench.ModelBenchmark;
import dev.kvslim.bench.RandomDms;
import dev.kvslim.bench.ServeLoadBenchmark;
import dev.kvslim.bench.StructuredOutputBenchmark;
import dev.kvslim.bench.TrainBenchmark;
import dev.kvslim.core.constrain.Grammar;
import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvPolicies;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tensor.MatmulBackend;
import dev.kvslim.core.tensor.Parallel;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.IntFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Prefill and decode speed, side by side in one run, against the memory-bandwidth roofline. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Measure prefill and decode tokens/s and the fraction of the memory-bandwidth roofline; --kv the"
                + " compressed KV cache, --train training, --serve a load test of the server.")
final class BenchCommand implements Callable<Integer> {

    @Option(
            names = "--stories",
            description =
                    "stories260K.bin to include (default: ../shared/fixtures/stories260K/stories260K.bin if present).")
    Path stories;

    @Option(
            names = "--repeats",
            description = "Measurements per figure; the median is reported (default: 3 with --model," + " else 5).")
    Integer repeatsOption;

    @Option(
            names = "--decode-tokens",
            description = "Decode steps per measurement (default: 128 with --model, else 32).")
    Integer decodeTokensOption;

    @Option(
            names = "--depth",
            defaultValue = "0",
            description = "With --model: tokens already in the KV cache before the"
                    + " prompt, so decode runs at depth + prompt tokens (default: ${DEFAULT-VALUE}).")
    int depth;

    @Option(names = "--threads", description = "Threads of the matrix products (default: the available processors).")
    Integer threads;

    @Option(
            names = "--kv-policy",
            defaultValue = "dense",
            description = "With --model: dense (the contiguous F32"
                    + " cache), none (the paged cache, every token kept), dms, or a training-free policy with --kv-ratio or"
                    + " --kv-tokens (default: ${DEFAULT-VALUE}).")
    String kvPolicy;

    @Option(
            names = "--kv-ratio",
            description = "With --model and a training-free --kv-policy: the target compression ratio.")
    Double kvRatio;

    @Option(
            names = "--kv-tokens",
            description = "With --model and a training-free --kv-policy: tokens kept per" + " (layer, KV head).")
    Integer kvTokens;

    @Mixin
    RenamedKvFlags renamed;

    @Mixin
    StructuredOutputOptions structured;

    @Option(
            names = "--kernels",
            description = "With --model: the one-token product of every weight matrix by weight type, in GB/s and as a"
                    + " ratio to an F32 matrix measured in the same loop (--repeats passes).")
    boolean kernels;

    @Option(
            names = "--matmul",
            description = "Who multiplies prompt batches: java, onednn (libdnnl.so.2 through FFM) or auto"
                    + " (default: -Dkvslim.matmul, else auto: oneDNN where installed).")
    String matmul;

    @Option(names = "--json", description = "With --model: one JSON object per measurement instead of the table.")
    boolean json;

    @Option(
            names = "--prompt-tokens",
            defaultValue = "512",
            description = "Prompt length for prefill (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--quick", description = "A small random model instead of the 125M one (for smoke runs).")
    boolean quick;

    @Option(
            names = "--capacity",
            paramLabel = "TOKENS",
            description =
                    "With --model: how many sequences of TOKENS tokens the KV budget (--kv-budget, default: the heap"
                            + " the model leaves, less 1 GiB) holds, by admitting them: one context prefilled for real"
                            + " (random tokens), --decode-tokens (default 8) decoded on it, then copies of its cache, every"
                            + " block copied, until the pool refuses one; per --kv-type, with --kv-policy none or dms.")
    Integer capacity;

    @Option(
            names = "--capacity-fill",
            defaultValue = "forward",
            description = "How --capacity fills its one context: forward (the model's prefill) or zeros (zero keys and"
                    + " values stored for every position, no forward pass; --kv-policy none only, whose bytes do not"
                    + " depend on the values) (default: ${DEFAULT-VALUE}).")
    String capacityFill;

    @Option(
            names = "--kv",
            description = "Measure the compressed KV cache instead: decode speed, attention time and KV"
                    + " bytes at contexts of 1K-32K tokens and compression 1x-8x.")
    boolean kv;

    @Option(
            names = "--contexts",
            split = ",",
            defaultValue = "1024,4096,16384,32768",
            description = "Contexts for --kv (default: ${DEFAULT-VALUE}).")
    int[] contexts;

    @Option(
            names = "--train",
            description = "Measure training instead: tokens/s and GFLOP/s of training steps of a"
                    + " small model (dim 128, 4 layers) against the measured matmul peak.")
    boolean train;

    @Option(names = "--train-batch", defaultValue = "4", description = "B for --train (default: ${DEFAULT-VALUE}).")
    int trainBatch;

    @Option(names = "--train-seq", defaultValue = "1024", description = "T for --train (default: ${DEFAULT-VALUE}).")
    int trainSeq;

    @Option(
            names = "--kv-type",
            split = ",",
            description = "KV element types, each measured side by side (f32, f16,"
                    + " bf16, q8_0, q4_0; default: f32,f16 with --kv, f32 with --model).")
    List<String> kvTypes;

    @Option(
            names = "--fleet",
            description = "A local fleet on loopback: three serve replicas behind HAProxy (installed from Debian's"
                    + " packages when missing, as root), --clients streaming clients for --seconds (default 90 here),"
                    + " one replica killed with SIGKILL and one drained with SIGTERM on the way; every request must"
                    + " complete with its sequential text or fail visibly. Exits 1 if any is lost or hangs.")
    boolean fleet;

    @Option(
            names = "--serve",
            description = "Load-test the OpenAI-compatible server in process on loopback: concurrent"
                    + " streaming clients, some disconnecting early, with the DMS cache and uncompressed side by side; checks"
                    + " every answer against a sequential greedy run and the KV budget.")
    boolean serve;

    @Option(
            names = "--model",
            description =
                    "A model file or folder to measure as llama-bench does (prefill of"
                            + " --prompt-tokens, then --decode-tokens greedy steps); or the model of --serve (default there: --stories"
                            + " retrofitted with a random DMS adapter that evicts half the tokens, when the model has no DMS of its own).")
    Path model;

    @Option(names = "--tokenizer", description = "Tokenizer of the --serve model (llama2.c checkpoints).")
    Path tokenizer;

    @Option(
            names = "--clients",
            defaultValue = "64",
            description = "Concurrent clients for --serve (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(
            names = "--seconds",
            description = "How long --serve clients (default 60) or --fleet clients (default 90) send requests.")
    Integer seconds;

    @Option(
            names = "--kv-budget",
            converter = ByteSize.class,
            description = "KV budget of the --serve server in bytes,"
                    + " e.g. 64MiB (default: room for 16 uncompressed sequences of the longest request).")
    Long budget;

    @Option(
            names = "--disconnect-every",
            defaultValue = "5",
            description = "Every this many requests of a --serve client"
                    + " goes away after 3 tokens (default: ${DEFAULT-VALUE}; 0: never).")
    int disconnectEvery;

    @Override
    public Integer call() throws Exception {
        if (threads != null) {
            System.setProperty("kvslim.threads", Integer.toString(threads));
            if (Parallel.threads() != threads) {
                throw new IllegalStateException("--threads came too late: the thread pool already has "
                        + Parallel.threads() + " threads (set -Dkvslim.threads through KVSLIM_JAVA_OPTS)");
            }
        }
        if (matmul != null) {
            MatmulBackend.parse(matmul); // a bad name or a missing library fails here, before any loading
            System.setProperty(MatmulBackend.PROPERTY, matmul);
        }
        boolean modelBench = model != null && !serve && !kv && !train;
        int repeats = repeatsOption != null ? repeatsOption : modelBench ? 3 : 5;
        int decodeTokens = decodeTokensOption != null ? decodeTokensOption : modelBench ? 128 : 32;
        if (fleet) {
            return fleetBench();
        }
        if (serve) {
            return serveLoad();
        }
        if (modelBench && capacity != null) {
            return capacityBench(decodeTokensOption != null ? decodeTokensOption : 8);
        }
        if (modelBench && kernels) {
            return kernelBench(repeats);
        }
        Grammar grammar = structured.grammar();
        if (modelBench && grammar != null) {
            return structuredBench(grammar, repeats, decodeTokens);
        }
        if (modelBench) {
            return modelBench(repeats, decodeTokens);
        }
        if (train) {
            new TrainBenchmark(trainBatch, trainSeq, repeats).run(System.out);
            return 0;
        }
        if (kv) {
            KvType[] types = (kvTypes != null ? kvTypes : List.of("f32", "f16"))
                    .stream().map(KvType::parse).toArray(KvType[]::new);
            new KvCacheBenchmark(contexts, new int[] {1, 2, 4, 8}, decodeTokens, repeats, types).run(System.out);
            return 0;
        }
        Path s = stories;
        if (s == null) {
            Path def = Path.of("../shared/fixtures/stories260K/stories260K.bin");
            s = java.nio.file.Files.exists(def) ? def : null;
        }
        new EngineBenchmark(new EngineBenchmark.Options(s, repeats, decodeTokens, promptTokens, quick)).run(System.out);
        return 0;
    }

    /** {@code bench --model --capacity}: sequences of one context a KV budget admits, per KV element type. */
    private int capacityBench(int decodeTokens) {
        long t0 = System.nanoTime();
        LoadedModel loaded = ModelLoader.load(model, tokenizer);
        double loadSeconds = (System.nanoTime() - t0) / 1e9;
        LlamaConfig c = loaded.model().config();
        String name = model.getFileName().toString();
        System.err.printf(
                java.util.Locale.ROOT,
                "loaded %s in %.1f s; resident %.2f GiB%n",
                name,
                loadSeconds,
                ModelBenchmark.residentBytes() / (double) (1L << 30));
        List<KvType> types = (kvTypes != null ? kvTypes : List.of("f32"))
                .stream().map(KvType::parse).toList();
        KvCacheSpec spec = KvCacheSpec.parse(
                kvPolicy, kvRatio, kvTokens, null, c.kvShape(), types.getFirst(), true, KvPolicies.Options.DEFAULTS);
        if (!(spec instanceof KvCacheSpec.Paged paged) || spec instanceof KvCacheSpec.Evicting) {
            throw new IllegalArgumentException(
                    "--capacity takes --kv-policy none or dms (a cache it can copy), not " + kvPolicy);
        }
        long kvBudget = budget != null ? budget : BlockPool.heapLeft() - (1L << 30);
        if (kvBudget <= 0) {
            throw new IllegalArgumentException(String.format(
                    java.util.Locale.ROOT,
                    "the heap left after loading (%.2f GiB) leaves no KV budget beside 1 GiB of working room: give"
                            + " --kv-budget, or more heap with KVSLIM_JAVA_OPTS=-Xmx<size>",
                    BlockPool.heapLeft() / (double) (1L << 30)));
        }
        CapacityBenchmark.run(
                name,
                loaded.model(),
                paged,
                types,
                kvBudget,
                capacity,
                switch (capacityFill) {
                    case "forward" -> CapacityBenchmark.Fill.FORWARD;
                    case "zeros" -> CapacityBenchmark.Fill.ZEROS;
                    default ->
                        throw new IllegalArgumentException(
                                "--capacity-fill is forward or zeros, not '" + capacityFill + "'");
                },
                decodeTokens,
                System.err,
                r -> System.out.println(json ? r.json() : r.text()));
        return 0;
    }

    /** {@code bench --model --kernels}: the decode kernels by weight type, as a table or JSON lines. */
    private int kernelBench(int passes) {
        Model m = ModelLoader.loadModel(model).model();
        String name = model.getFileName().toString();
        List<KernelBenchmark.Row> rows = KernelBenchmark.run(m, passes);
        if (json) {
            for (KernelBenchmark.Row r : rows) {
                System.out.printf(
                        java.util.Locale.ROOT,
                        "{\"model\": \"%s\", \"type\": \"%s\", \"matrices\": %d, \"bytes\": %d, \"threads\": %d,"
                                + " \"gb_per_s\": %.3f, \"vs_yardstick\": %.3f}%n",
                        name,
                        r.type(),
                        r.matrices(),
                        r.bytes(),
                        Parallel.threads(),
                        r.gbPerS(),
                        r.vsYardstick());
            }
            return 0;
        }
        System.out.printf(
                "%s, %d threads, one-token products, %d passes after %d warm-up passes%n",
                name, Parallel.threads(), passes, passes);
        System.out.printf("%-24s %8s %10s %8s %14s%n", "type", "matrices", "MiB", "GB/s", "x yardstick");
        for (KernelBenchmark.Row r : rows) {
            System.out.printf(
                    java.util.Locale.ROOT,
                    "%-24s %8d %10.1f %8.2f %14.2f%n",
                    r.type(),
                    r.matrices(),
                    r.bytes() / 1048576.0,
                    r.gbPerS(),
                    r.vsYardstick());
        }
        return 0;
    }

    /** {@code bench --model} with a grammar option: decode speed free and under the grammar, side by side. */
    private int structuredBench(Grammar grammar, int repeats, int decodeTokens) {
        LoadedModel loaded = ModelLoader.load(model, tokenizer);
        LlamaConfig c = loaded.model().config();
        int[] prompt = loaded.tokenizer().encode("Here is the record, as JSON:", true);
        StructuredOutputBenchmark.run(
                        loaded.model(),
                        loaded.tokenizer(),
                        loaded::isEndOfGeneration,
                        n -> new KvCacheSpec.Dense().newCache(c.kvShape(), null, n),
                        grammar,
                        prompt,
                        decodeTokens,
                        repeats)
                .print(System.out);
        return 0;
    }

    /** {@code bench --model}: one measurement per --kv-type, as a table or JSON lines. */
    private int modelBench(int repeats, int decodeTokens) {
        LoadedModel loaded = ModelLoader.load(model, tokenizer);
        LlamaConfig c = loaded.model().config();
        String name = model.getFileName().toString();
        List<ModelBenchmark.Result> results = new ArrayList<>();
        for (String typeName : kvTypes != null ? kvTypes : List.of("f32")) {
            KvType type = KvType.parse(typeName);
            KvCacheSpec spec = KvCacheSpec.parse(
                    kvPolicy,
                    kvRatio,
                    kvTokens,
                    null,
                    c.kvShape(),
                    type,
                    false,
                    KvPolicies.Options.DEFAULTS.withSeed(42));
            spec.requireNoReplay("bench");
            IntFunction<KvCache> caches = n -> spec.newCache(
                    c.kvShape(),
                    spec instanceof KvCacheSpec.Paged
                            ? new BlockPool(
                                    c.headSize(),
                                    PagedKvCache.blockSizeFor(c.contextLength()),
                                    BlockPool.defaultBudget(2),
                                    type)
                            : null,
                    n);
            String label = spec.label() + " " + type;
            var options = new ModelBenchmark.Options(promptTokens, decodeTokens, depth, repeats, label);
            ModelBenchmark.Result r = ModelBenchmark.run(name, loaded.model(), caches, options);
            results.add(r);
            if (json) {
                System.out.println(r.json());
            }
        }
        if (!json) {
            ModelBenchmark.print(results, System.out);
        }
        return 0;
    }

    private Path defaultStories() {
        if (stories != null) {
            return stories;
        }
        Path def = Path.of("../shared/fixtures/stories260K/stories260K.bin");
        if (!java.nio.file.Files.exists(def)) {
            throw new IllegalArgumentException("--serve needs a model: give --model (and --tokenizer), or --stories");
        }
        return def;
    }

    /** {@code bench --fleet}: replicas behind HAProxy, a kill and a drain under load. */
    private int fleetBench() throws Exception {
        Path m = model != null ? model : Path.of("models", "kvslim-demo-dms-cr4");
        if (!java.nio.file.Files.exists(m)) {
            throw new IllegalArgumentException(
                    "--fleet needs a model: give --model, or run from the repository (models/)");
        }
        int duration = seconds != null ? seconds : 90;
        var options = new FleetBenchmark.Options(
                m,
                3,
                clients,
                Duration.ofSeconds(duration),
                Duration.ofSeconds(duration / 3),
                Duration.ofSeconds(duration / 2),
                KvSlim.class.getName());
        FleetBenchmark.Result r = FleetBenchmark.run(options, System.err);
        r.print(System.out);
        return r.passed() ? 0 : 1;
    }

    private int serveLoad() throws Exception {
        Path path = model != null ? model : defaultStories();
        Path tok = tokenizer;
        if (tok == null && model == null) {
            tok = path.resolveSibling("tok512.bin");
        }
        LoadedModel loaded = ModelLoader.load(path, tok);
        if (loaded.model().config().dms() == null) {
            System.err.println(
                    "kvslim: " + path + " has no DMS: retrofitting a random DMS adapter that evicts about half"
                            + " the tokens (the text is not the point, the memory is)");
            loaded = new LoadedModel(
                    loaded.path(),
                    loaded.format(),
                    RandomDms.retrofit(loaded.model(), 2, Arena.ofAuto()),
                    loaded.tokenizer(),
                    loaded.generation(),
                    loaded.chatTemplate());
        }
        long b = budget != null ? budget : ServeLoadBenchmark.defaultBudget(loaded, clients, 16);
        var options = new ServeLoadBenchmark.Options(
                clients, Duration.ofSeconds(seconds != null ? seconds : 60), b, 32, 16, disconnectEvery);
        var results = ServeLoadBenchmark.compare(
                loaded, KvCacheSpec.dms(loaded.model().config().kvShape()), options, System.out);
        return results.stream().allMatch(ServeLoadBenchmark.Result::correct) ? 0 : 1;
    }
}
