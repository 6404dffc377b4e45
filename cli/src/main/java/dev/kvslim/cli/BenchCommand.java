package dev.kvslim.cli;

import dev.kvslim.bench.EngineBenchmark;
import dev.kvslim.bench.KvCacheBenchmark;
import dev.kvslim.bench.TrainBenchmark;
import dev.kvslim.core.kv.KvType;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Prefill and decode speed, side by side in one run, against the memory-bandwidth roofline. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure prefill and decode tokens/s and the fraction of the memory-bandwidth roofline.")
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

    @Override
    public Integer call() {
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
}
