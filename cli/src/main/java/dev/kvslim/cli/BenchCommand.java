package dev.kvslim.cli;

import dev.kvslim.bench.EngineBenchmark;
import java.nio.file.Path;
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

    @Override
    public Integer call() {
        Path s = stories;
        if (s == null) {
            Path def = Path.of("../shared/fixtures/stories260K/stories260K.bin");
            s = java.nio.file.Files.exists(def) ? def : null;
        }
        new EngineBenchmark(new EngineBenchmark.Options(s, repeats, decodeTokens, promptTokens, quick)).run(System.out);
        return 0;
    }
}
