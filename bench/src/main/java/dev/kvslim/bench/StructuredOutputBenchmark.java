package dev.kvslim.bench;

import dev.kvslim.core.constrain.Automaton;
import dev.kvslim.core.constrain.Constraint;
import dev.kvslim.core.constrain.Grammar;
import dev.kvslim.core.constrain.TokenMask;
import dev.kvslim.core.generate.Generator;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.SamplingParams;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/**
 * What structured output costs in decode speed: the same prompt decoded free and under a grammar, one after the other
 * in each of {@code repeats} rounds (after one round to warm up), with the grammar's own share measured apart: the
 * masks and matcher steps over the tokens the constrained run wrote, replayed on a fresh matcher (so every state is
 * met, and its mask computed, for the first time, as in the run).
 */
public final class StructuredOutputBenchmark {

    /**
     * @param freeTokensPerS        decode speed without a grammar (best round)
     * @param constrainedTokensPerS decode speed under the grammar (best round)
     * @param maskMicrosPerToken    mean time of one mask and one matcher step on a fresh matcher, in microseconds
     * @param generated             tokens the last constrained round wrote
     * @param stop                  why the last constrained round ended
     */
    public record Result(
            double freeTokensPerS,
            double constrainedTokensPerS,
            double maskMicrosPerToken,
            int generated,
            Generator.StopReason stop,
            int vocabSize) {

        public double ratio() {
            return constrainedTokensPerS / freeTokensPerS;
        }

        public void print(PrintStream out) {
            out.printf(
                    Locale.ROOT,
                    "decode free %.1f tokens/s, under the grammar %.1f tokens/s: %.2fx (vocabulary %d; mask and"
                            + " matcher step %.1f us per token, fresh states; last constrained run: %d tokens, %s)%n",
                    freeTokensPerS,
                    constrainedTokensPerS,
                    ratio(),
                    vocabSize,
                    maskMicrosPerToken,
                    generated,
                    stop.name().toLowerCase(Locale.ROOT));
        }
    }

    private StructuredOutputBenchmark() {}

    public static Result run(
            Model model,
            Tokenizer tokenizer,
            IntPredicate endOfGeneration,
            IntFunction<KvCache> newCache,
            Grammar grammar,
            int[] prompt,
            int decodeTokens,
            int repeats) {
        Generator generator = new Generator(model, tokenizer, endOfGeneration);
        SamplingParams sampling = new SamplingParams(1f, 0, 1f, 0f, 7);
        Generator.Options free = new Generator.Options(decodeTokens, sampling, List.of(), false, 64);
        Generator.Options constrained = new Generator.Options(decodeTokens, sampling, List.of(), false, 64, grammar);
        double bestFree = 0;
        double bestConstrained = 0;
        Generator.Result last = null;
        for (int round = 0; round <= repeats; round++) {
            Generator.Result f =
                    generator.generate(prompt, free, newCache.apply(prompt.length + decodeTokens), (b, o, l) -> {});
            Generator.Result c = generator.generate(
                    prompt, constrained, newCache.apply(prompt.length + decodeTokens), (b, o, l) -> {});
            if (round > 0) {
                bestFree = Math.max(bestFree, f.decodeTokensPerSecond());
                bestConstrained = Math.max(bestConstrained, c.decodeTokensPerSecond());
            }
            last = c;
        }
        // the grammar's share alone: a fresh matcher over the same tokens, masking random logits before each
        int[] tokens = last.generated();
        float[] logits = new float[model.config().vocabSize()];
        Constraint constraint = new Constraint(new Automaton(grammar), TokenMask.of(tokenizer), endOfGeneration);
        int previous = prompt[prompt.length - 1];
        long start = System.nanoTime();
        for (int t : tokens) {
            java.util.Arrays.fill(logits, 0f);
            constraint.mask(logits);
            constraint.accept(tokenizer.decodePiece(previous, t));
            previous = t;
        }
        double micros = tokens.length == 0 ? 0 : (System.nanoTime() - start) / 1e3 / tokens.length;
        return new Result(bestFree, bestConstrained, micros, tokens.length, last.stopReason(), logits.length);
    }
}
