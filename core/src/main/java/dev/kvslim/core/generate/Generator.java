package dev.kvslim.core.generate;

import dev.kvslim.core.constrain.Automaton;
import dev.kvslim.core.constrain.Constraint;
import dev.kvslim.core.constrain.Grammar;
import dev.kvslim.core.constrain.TokenMask;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.sample.SamplingParams;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntPredicate;

/**
 * The generation loop of one sequence: prefill the prompt, then sample and feed back one token at a time, streaming
 * the text as bytes, until {@link Decoding}'s rule ends it (an end-of-generation token, a stop string or a limit).
 */
public final class Generator {

    /** Receives output bytes as they become final. */
    @FunctionalInterface
    public interface Sink {
        void write(byte[] bytes, int off, int len);
    }

    /**
     * @param maxTokens   most new tokens
     * @param sampling    how to pick them
     * @param stopStrings generation ends before the first occurrence of any of these (not printed)
     * @param echo        print the prompt first, as llama2.c's run.c does
     * @param prefillBatch prompt tokens per forward call
     * @param grammar     the text must be a sentence of this grammar (structured output), or null for free text
     */
    public record Options(
            int maxTokens,
            SamplingParams sampling,
            List<String> stopStrings,
            boolean echo,
            int prefillBatch,
            Grammar grammar) {

        /** Options for free text. */
        public Options(
                int maxTokens, SamplingParams sampling, List<String> stopStrings, boolean echo, int prefillBatch) {
            this(maxTokens, sampling, stopStrings, echo, prefillBatch, null);
        }

        public Options {
            if (maxTokens < 0) {
                throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
            }
            if (prefillBatch <= 0) {
                throw new IllegalArgumentException("prefill batch must be positive, got " + prefillBatch);
            }
            stopStrings = List.copyOf(stopStrings);
            for (String s : stopStrings) {
                if (s.isEmpty()) {
                    throw new IllegalArgumentException("stop strings must not be empty");
                }
            }
        }

        public static Options greedy(int maxTokens) {
            return new Options(maxTokens, SamplingParams.GREEDY, List.of(), false, 64);
        }
    }

    /** Why generation ended. */
    public enum StopReason {
        END_OF_GENERATION,
        STOP_STRING,
        LENGTH,
        /** Under a grammar, the text is a whole sentence that nothing may extend. */
        GRAMMAR_COMPLETE
    }

    /**
     * What a generation did. {@code cachedPositions} is how many tokens of {@code promptTokens ++ generated} the
     * cache holds afterwards (the last generated token is not fed back unless generation went on past it).
     */
    public record Result(
            int[] promptTokens,
            int[] generated,
            StopReason stopReason,
            long prefillNanos,
            long decodeNanos,
            long kvBytes,
            int cachedPositions) {

        /** Prompt tokens per second of prefill (the whole prompt, cached tokens included). */
        public double prefillTokensPerSecond() {
            return prefillNanos == 0 ? 0 : promptTokens.length * 1e9 / prefillNanos;
        }

        /** The tokens the cache holds, in order. */
        public int[] cachedTokens() {
            int[] all = Arrays.copyOf(promptTokens, promptTokens.length + generated.length);
            System.arraycopy(generated, 0, all, promptTokens.length, generated.length);
            return Arrays.copyOf(all, cachedPositions);
        }

        /** Tokens fed back per second, after the first one. */
        public double decodeTokensPerSecond() {
            return decodeNanos == 0 || generated.length < 2 ? 0 : (generated.length - 1) * 1e9 / decodeNanos;
        }
    }

    private final Model model;
    private final Tokenizer tokenizer;
    private final IntPredicate endOfGeneration;

    /** A generator that ends the text at the tokenizer's end-of-generation tokens. */
    public Generator(Model model, Tokenizer tokenizer) {
        this(model, tokenizer, tokenizer::isEndOfGeneration);
    }

    /** A generator that ends the text at the tokens {@code endOfGeneration} accepts. */
    public Generator(Model model, Tokenizer tokenizer, IntPredicate endOfGeneration) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.endOfGeneration = endOfGeneration;
    }

    /** Runs {@code prompt} (already tokenized) on a fresh {@code cache}. */
    public Result generate(int[] prompt, Options options, KvCache cache, Sink sink) {
        return generate(prompt, 0, options, cache, sink);
    }

    /**
     * Runs {@code prompt} on a cache that already holds its first {@code cached} tokens (from an earlier turn
     * of the same conversation), prefilling only the rest; at least the last prompt token is always run again.
     */
    public Result generate(int[] prompt, int cached, Options options, KvCache cache, Sink sink) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens; pass a BOS token at least");
        }
        int reused = Math.max(0, Math.min(cached, prompt.length - 1));
        int[] instruction = ContextReplay.wanted(cache) ? ContextReplay.instruction(tokenizer) : null;
        if (instruction != null && reused > 0) {
            throw new IllegalArgumentException("kvzip replays a whole prompt once, before decoding: its cache cannot"
                    + " take a second turn (start from an empty cache)");
        }
        if (instruction != null) {
            ContextReplay.requireRoom(prompt.length, instruction, cache.capacity()); // before any prefill
        }
        cache.truncate(reused);
        if (prompt.length > cache.capacity()) {
            throw new IllegalArgumentException(
                    "the prompt has " + prompt.length + " tokens, more than the context of " + cache.capacity());
        }
        if (options.echo()) {
            for (int i = 0; i < prompt.length; i++) {
                byte[] piece = tokenizer.decodePiece(i == 0 ? -1 : prompt[i - 1], prompt[i]);
                sink.write(piece, 0, piece.length);
            }
        }
        int batch = Math.min(options.prefillBatch(), prompt.length - reused);
        Model.State state = model.newState(batch);
        Decoding decoding = new Decoding(
                new Sampler(options.sampling(), model.config().vocabSize()),
                tokenizer,
                endOfGeneration,
                options.stopStrings(),
                prompt,
                options.maxTokens(),
                cache.capacity() + 1,
                sink,
                options.grammar() == null
                        ? null
                        : new Constraint(new Automaton(options.grammar()), TokenMask.of(tokenizer), endOfGeneration));
        Generation<KvCache> sequence = new Generation<>(prompt, options.maxTokens(), decoding);
        sequence.attach(cache, reused);

        long start = System.nanoTime();
        float[] logits = null;
        while (sequence.pending() > 0) {
            logits = BatchStep.forward(model, state, BatchStep.plan(List.of(sequence), batch))[0];
        }
        if (instruction != null) {
            ContextReplay.run(model, (PagedKvCache) cache, prompt, prompt.length, instruction); // its own state
        }
        long prefillNanos = System.nanoTime() - start;

        long decodeStart = System.nanoTime();
        while (decoding.stopReason() == null && sequence.decode(logits) == null) {
            logits = BatchStep.forward(model, state, BatchStep.plan(List.of(sequence), 1))[0];
        }
        long decodeNanos = System.nanoTime() - decodeStart;
        StopReason reason = decoding.stopReason();
        int count = decoding.count();
        // the last token sampled is fed only when generation went on past it, which an end token never does
        int fed = reason == StopReason.END_OF_GENERATION ? count : Math.max(0, count - 1);
        return new Result(
                prompt.clone(),
                decoding.generated(),
                reason,
                prefillNanos,
                decodeNanos,
                cache.bytesUsed(),
                prompt.length + fed);
    }
}
