package dev.kvslim.core.generate;

import dev.kvslim.core.constrain.Constraint;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntPredicate;

/**
 * One sequence's decoding rule, the one every front end applies after a forward pass that ends at the sequence's
 * last token ({@link Generator} for the generate and chat commands, the task evaluator's lanes, the server's
 * scheduler): sample a token from the logits, then end the sequence at an end-of-generation token (not part of the
 * text), at a stop string (the text ends before it) or at its length limits; otherwise the token is fed next, at
 * {@link #position()}. The text streams to a sink as it becomes final: bytes that could begin a stop string are held
 * back until they cannot. Under a grammar {@link Constraint} (structured output), the tokens it does not allow are
 * masked out before sampling, and the sequence ends once the text is a whole sentence nothing may extend.
 *
 * <p>Limits: at most {@code maxTokens} tokens, and prompt plus generated tokens at most {@code maxLength} (vLLM's
 * {@code max_model_len} rule). A one-sequence caller whose cache holds {@code C} positions passes {@code C + 1}: the
 * last token sampled is never fed, so it needs no room.
 */
public final class Decoding {

    private final Sampler sampler;
    private final Tokenizer tokenizer;
    private final IntPredicate endOfGeneration;
    private final StopFilter text;
    private final Constraint constraint;
    private final int promptLength;
    private final int maxTokens;
    private final int maxLength;
    private int[] generated = new int[16];
    private int count;
    private int last;
    private int token = -1;
    private Generator.StopReason reason;

    /**
     * @param sampler         picks tokens (its own random stream)
     * @param tokenizer       turns tokens into text
     * @param endOfGeneration the tokens that end generation (e.g. EOS; {@code t -> false} to ignore them)
     * @param stopStrings     the text ends before the first of these
     * @param prompt          the prompt (its length and last token: the first piece's text depends on it)
     * @param maxTokens       most tokens to generate (0: none; the decoding is then over before it starts)
     * @param maxLength       most tokens prompt and generated together may reach
     * @param sink            receives the text as it becomes final
     */
    public Decoding(
            Sampler sampler,
            Tokenizer tokenizer,
            IntPredicate endOfGeneration,
            List<String> stopStrings,
            int[] prompt,
            int maxTokens,
            int maxLength,
            Generator.Sink sink) {
        this(sampler, tokenizer, endOfGeneration, stopStrings, prompt, maxTokens, maxLength, sink, null);
    }

    /**
     * A decoding under {@code constraint} (null for none): see {@link #Decoding(Sampler, Tokenizer, IntPredicate,
     * List, int[], int, int, Generator.Sink)} for the rest.
     */
    public Decoding(
            Sampler sampler,
            Tokenizer tokenizer,
            IntPredicate endOfGeneration,
            List<String> stopStrings,
            int[] prompt,
            int maxTokens,
            int maxLength,
            Generator.Sink sink,
            Constraint constraint) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("decoding needs a prompt of at least one token");
        }
        if (maxTokens < 0) {
            throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        }
        this.sampler = sampler;
        this.tokenizer = tokenizer;
        this.endOfGeneration = endOfGeneration;
        this.text = new StopFilter(stopStrings, sink);
        this.constraint = constraint;
        this.promptLength = prompt.length;
        this.maxTokens = maxTokens;
        this.maxLength = maxLength;
        this.last = prompt[prompt.length - 1];
        if (maxTokens == 0 || promptLength >= maxLength) {
            end(Generator.StopReason.LENGTH);
        }
    }

    /**
     * Samples the next token from {@code logits} (the model's output at the sequence's last token; a constraint masks
     * them in place) and applies the rule: returns null when the sequence goes on (feed {@link #token()} at
     * {@link #position()}), else why it ended.
     */
    public Generator.StopReason next(float[] logits) {
        if (reason != null) {
            throw new IllegalStateException("the sequence already ended (" + reason + ")");
        }
        if (constraint != null && !constraint.mask(logits)) {
            // the vocabulary cannot write what the grammar needs next: end here, the token not part of the text
            token = sampler.sample(logits);
            return end(Generator.StopReason.END_OF_GENERATION);
        }
        token = sampler.sample(logits);
        if (endOfGeneration.test(token)) {
            return end(Generator.StopReason.END_OF_GENERATION);
        }
        byte[] piece = tokenizer.decodePiece(last, token);
        if (constraint != null && !constraint.accept(piece)) {
            // only after BOS, where a piece prints without its leading space, can the text differ from the mask's
            return end(Generator.StopReason.END_OF_GENERATION);
        }
        if (count == generated.length) {
            generated = Arrays.copyOf(generated, 2 * count);
        }
        generated[count++] = token;
        boolean stopped = text.append(piece);
        last = token;
        if (stopped) {
            reason = Generator.StopReason.STOP_STRING;
            return reason;
        }
        if (constraint != null && constraint.isComplete()) {
            return end(Generator.StopReason.GRAMMAR_COMPLETE);
        }
        if (count >= maxTokens || promptLength + count >= maxLength) {
            return end(Generator.StopReason.LENGTH);
        }
        return null;
    }

    private Generator.StopReason end(Generator.StopReason why) {
        reason = why;
        text.finish();
        return why;
    }

    /** The token sampled last (an end-of-generation token included), -1 before the first. */
    public int token() {
        return token;
    }

    /** The last token of the text: the prompt's last before anything was generated. */
    public int lastTextToken() {
        return last;
    }

    /** The position of the newest generated token: where it is fed. */
    public int position() {
        return promptLength + count - 1;
    }

    /** Tokens generated so far (an end-of-generation token not counted). */
    public int count() {
        return count;
    }

    /** The generated tokens, in order. */
    public int[] generated() {
        return Arrays.copyOf(generated, count);
    }

    /** Why the sequence ended, or null while it goes on. */
    public Generator.StopReason stopReason() {
        return reason;
    }
}
