package dev.kvslim.cli;

import dev.kvslim.bench.EngineBenchmark;
import dev.kvslim.bench.KvCacheBenchmark;
import dev.kvslim.bench.RandomDms;
import dev.kvslim.bench.ServeLoadBenchmark;
import dev.kvslim.bench.TrainBenchmark;
import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.serve.schedule.CacheChoice;
import java.lang.foreign.Arena;
import java.time.Duration;
import dev.kvslim.core.kv.KvType;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Prefill and decode speed, side by side in one run, against the memory-bandwidth roofline. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure prefill and decode tokens/s and the fraction of the memory-bandwidth roofline; --kv the"
                + " compressed KV cache, --train training, --serve a load test of the server.")
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--stories", description = "stories260K.bin to include (default: ../shared/fixtures/stories260K/stories260K.bin if present).")
    Path stories;

    @Option(names = "--repeats", defaultValue = "5", description = "Measurements per figure; the median is reported (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--decode-tokens", defaultValue = "32", description = "Decode steps per measurement (default: ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--prompt-tokens", defaultValue = "512", description = "Prompt length for prefill (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--quick", description = "A small random model instead of the 125M one (for smoke runs).")
    boolean quick;

    @Option(names = "--kv", description = "Measure the compressed KV cache instead: decode speed, attention time and KV"
            + " bytes at contexts of 1K-32K tokens and compression 1x-8x.")
    boolean kv;

    @Option(names = "--contexts", split = ",", defaultValue = "1024,4096,16384,32768",
            description = "Contexts for --kv (default: ${DEFAULT-VALUE}).")
    int[] contexts;

    @Option(names = "--train", description = "Measure training instead: tokens/s and GFLOP/s of training steps of a"
            + " small model (dim 128, 4 layers) against the measured matmul peak.")
    boolean train;

    @Option(names = "--train-batch", defaultValue = "4", description = "B for --train (default: ${DEFAULT-VALUE}).")
    int trainBatch;

    @Option(names = "--train-seq", defaultValue = "1024", description = "T for --train (default: ${DEFAULT-VALUE}).")
    int trainSeq;

    @Option(names = "--kv-type", split = ",", defaultValue = "f32,f16",
            description = "KV element types for --kv, each measured side by side (f32, f16, bf16; default: ${DEFAULT-VALUE}).")
    List<String> kvTypes;

    @Option(names = "--serve", description = "Load-test the OpenAI-compatible server in process on loopback: concurrent"
            + " streaming clients, some disconnecting early, with the DMS cache and uncompressed side by side; checks"
            + " every answer against a sequential greedy run and the KV budget.")
    boolean serve;

    @Option(names = "--model", description = "Model for --serve (default: --stories retrofitted with a random DMS adapter"
            + " that evicts half the tokens, when the model has no DMS of its own).")
    Path model;

    @Option(names = "--tokenizer", description = "Tokenizer of the --serve model (llama2.c checkpoints).")
    Path tokenizer;

    @Option(names = "--clients", defaultValue = "64", description = "Concurrent clients for --serve (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--seconds", defaultValue = "60", description = "How long --serve clients send requests (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--budget", description = "KV budget of the --serve server in bytes (default: room for 16"
            + " uncompressed sequences of the longest request).")
    Long budget;

    @Option(names = "--disconnect-every", defaultValue = "5", description = "Every this many requests of a --serve client"
            + " goes away after 3 tokens (default: ${DEFAULT-VALUE}; 0: never).")
    int disconnectEvery;

    @Override
    public Integer call() throws Exception {
        if (serve) {
            return serveLoad();
        }
        if (train) {
            new TrainBenchmark(trainBatch, trainSeq, repeats).run(System.out);
            return 0;
        }
        if (kv) {
            KvType[] types = kvTypes.stream().map(KvType::parse).toArray(KvType[]::new);
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

    private int serveLoad() throws Exception {
        Path path = model != null ? model : defaultStories();
        Path tok = tokenizer;
        if (tok == null && model == null) {
            tok = path.resolveSibling("tok512.bin");
        }
        LoadedModel loaded = ModelLoader.load(path, tok);
        if (loaded.model().config().dms() == null) {
            System.err.println("kvslim: " + path + " has no DMS: retrofitting a random DMS adapter that evicts about half"
                    + " the tokens (the text is not the point, the memory is)");
            loaded = new LoadedModel(loaded.path(), loaded.format(), RandomDms.retrofit(loaded.model(), 2, Arena.ofAuto()),
                    loaded.tokenizer(), loaded.generation(), loaded.chatTemplate());
        }
        long b = budget != null ? budget : ServeLoadBenchmark.defaultBudget(loaded, clients, 16);
        var options = new ServeLoadBenchmark.Options(clients, Duration.ofSeconds(seconds), b, 32, 16, disconnectEvery);
        var results = ServeLoadBenchmark.compare(loaded, CacheChoice.dmsCache(), options, System.out);
        return results.stream().allMatch(ServeLoadBenchmark.Result::correct) ? 0 : 1;
    }
}
