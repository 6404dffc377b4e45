package dev.kvslim.core.generate;

import dev.kvslim.core.kv.KvCache;
import java.util.Arrays;
import java.util.Objects;

/**
 * One sequence being generated: its tokens so far (the prompt, then what it generated), how many of them its cache
 * holds, and its {@link Decoding}. {@link BatchStep} plans and runs steps over such sequences; every front end (the
 * generate and chat commands through {@link Generator}, the task evaluator's lanes, the server's scheduler) keeps its
 * sequences as these. A sequence may lose its cache (a server preempts it) and get a fresh one: it is then recomputed
 * from its tokens.
 *
 * @param <C> the kind of cache it holds
 */
public class Generation<C extends KvCache> {

    private final Decoding decoding;
    private final int promptLength;
    private int[] tokens;
    private int length;
    private C cache;
    private int cached;

    /**
     * @param prompt    the prompt's tokens (copied)
     * @param extraRoom tokens to make room for up front beyond the prompt (the array grows as needed)
     * @param decoding  the sequence's sampling and stop rule
     */
    public Generation(int[] prompt, int extraRoom, Decoding decoding) {
        this.decoding = Objects.requireNonNull(decoding, "decoding");
        this.promptLength = prompt.length;
        this.tokens = Arrays.copyOf(prompt, prompt.length + Math.max(0, extraRoom));
        this.length = prompt.length;
    }

    /** The sampling and stop rule. */
    public final Decoding decoding() {
        return decoding;
    }

    /** The cache, or null while it has none. */
    public final C cache() {
        return cache;
    }

    /** Gives the sequence {@code cache}, which holds its first {@code cached} tokens. */
    public final void attach(C cache, int cached) {
        if (cached < 0 || cached > length) {
            throw new IllegalArgumentException("a cache holding " + cached + " of " + length + " tokens");
        }
        this.cache = Objects.requireNonNull(cache, "cache");
        this.cached = cached;
    }

    /** Takes the cache away (the caller releases it); the sequence will be recomputed from its tokens. */
    public final void detach() {
        cache = null;
        cached = 0;
    }

    public final int promptLength() {
        return promptLength;
    }

    /** Tokens so far: the prompt and those generated and fed back. */
    public final int length() {
        return length;
    }

    /** Tokens the cache holds. */
    public final int cached() {
        return cached;
    }

    /** Tokens not yet in the cache: 1 while decoding, more while (re)computing a prompt. */
    public final int pending() {
        return length - cached;
    }

    /** The tokens so far (a copy). */
    public final int[] tokens() {
        return Arrays.copyOf(tokens, length);
    }

    /** The token array ({@link #length} of them are the sequence); shared with the forward pass, not copied. */
    final int[] tokenArray() {
        return tokens;
    }

    /** Notes that the cache now holds {@code count} more tokens. */
    final void advance(int count) {
        cached += count;
    }

    /**
     * Applies the decoding rule to the logits of the sequence's last token: returns null when it goes on (the sampled
     * token is appended, to be fed next), else why it ended.
     */
    public final Generator.StopReason decode(float[] logits) {
        Generator.StopReason reason = decoding.next(logits);
        if (reason == null) {
            if (length == tokens.length) {
                tokens = Arrays.copyOf(tokens, Math.max(length + 1, 2 * length));
            }
            tokens[length++] = decoding.token();
        }
        return reason;
    }
}
