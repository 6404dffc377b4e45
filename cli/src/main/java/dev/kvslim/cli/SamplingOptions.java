package dev.kvslim.cli;

import dev.kvslim.core.format.hf.GenerationConfig;
import dev.kvslim.core.sample.SamplingParams;
import picocli.CommandLine.Option;

/**
 * Sampling options shared by the commands that generate. An option left out falls back to the model folder's
 * generation_config.json, then to the command's own default.
 */
final class SamplingOptions {

    @Option(
            names = "--temperature",
            description = "Sampling temperature; 0 is greedy (default: the model's"
                    + " generation_config.json, else the command's default).")
    Float temperature;

    @Option(names = "--top-p", description = "Nucleus sampling mass (default: generation_config.json, else 0.9).")
    Float topP;

    @Option(
            names = "--top-k",
            description = "Keep the k most likely tokens; 0 keeps all (default: generation_config.json, else 0).")
    Integer topK;

    @Option(
            names = "--min-p",
            description =
                    "Drop tokens below min-p times the top probability (default: generation_config.json, else 0).")
    Float minP;

    @Option(names = "--seed", description = "Random seed (default: from the clock, printed to stderr).")
    Long seed;

    /** The settings to use, given the model's generation config and the command's default temperature. */
    SamplingParams resolve(GenerationConfig g, float defaultTemperature) {
        boolean sample = g.doSample() == null || g.doSample();
        float t = temperature != null
                ? temperature
                : !sample ? 0f : g.temperature() != null ? g.temperature() : defaultTemperature;
        return new SamplingParams(
                t,
                topK != null ? topK : g.topK() != null ? g.topK() : 0,
                topP != null ? topP : g.topP() != null ? g.topP() : 0.9f,
                minP != null ? minP : g.minP() != null ? g.minP() : 0f,
                seed != null ? seed : System.nanoTime());
    }
}
