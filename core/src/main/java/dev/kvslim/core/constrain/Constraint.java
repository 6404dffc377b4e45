package dev.kvslim.core.constrain;

import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * One sequence's grammar constraint: before each sample, {@link #mask} sets the logit of every token the grammar does
 * not allow next to minus infinity (the end-of-generation tokens are allowed where the text so far is a whole sentence
 * of the grammar); after it, {@link #accept} moves the matcher over the sampled token's text. The sequence is over
 * when {@link #isComplete} (nothing may follow). Belongs to the thread that decodes the sequence.
 */
public final class Constraint {

    private final TokenMask tokens;
    private final int[] endTokens;
    private final float[] endLogits;
    private Automaton.State state;

    /**
     * @param automaton       the grammar's matcher (may be shared by the sequences of one request, on one thread)
     * @param tokens          the vocabulary's token texts
     * @param endOfGeneration the tokens that end the text, allowed where the grammar may end
     */
    public Constraint(Automaton automaton, TokenMask tokens, IntPredicate endOfGeneration) {
        this.tokens = tokens;
        int n = 0;
        int[] ends = new int[8];
        for (int id = 0; id < tokens.vocabSize(); id++) {
            if (endOfGeneration.test(id)) {
                if (n == ends.length) {
                    ends = Arrays.copyOf(ends, 2 * n);
                }
                ends[n++] = id;
            }
        }
        this.endTokens = Arrays.copyOf(ends, n);
        this.endLogits = new float[n];
        this.state = automaton.start();
        if (state.isDead()) {
            throw new GrammarException("the grammar matches no text at all");
        }
    }

    /**
     * Masks {@code logits} (one per token id) in place to the tokens allowed next. Returns false, changing nothing,
     * when no token is allowed (the vocabulary cannot write what the grammar needs next, and it may not end here).
     */
    public boolean mask(float[] logits) {
        if (logits.length != tokens.vocabSize()) {
            throw new IllegalArgumentException(
                    "logits have " + logits.length + " entries, the vocabulary " + tokens.vocabSize());
        }
        long[] allowed = tokens.allowed(state);
        boolean any = state.canEnd() && endTokens.length > 0;
        for (long w : allowed) {
            any |= w != 0;
        }
        if (!any) {
            return false;
        }
        boolean mayEnd = state.canEnd();
        if (mayEnd) {
            for (int i = 0; i < endTokens.length; i++) {
                endLogits[i] = logits[endTokens[i]];
            }
        }
        for (int w = 0; w < allowed.length; w++) {
            long bits = allowed[w];
            if (bits == -1L) {
                continue;
            }
            int base = w << 6;
            int end = Math.min(64, logits.length - base);
            for (int i = 0; i < end; i++) {
                if ((bits >>> i & 1) == 0) {
                    logits[base + i] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        if (mayEnd) {
            // the end tokens print nothing, so the grammar's set never has them; they get back their logits
            for (int i = 0; i < endTokens.length; i++) {
                logits[endTokens[i]] = endLogits[i];
            }
        }
        return true;
    }

    /**
     * Moves over the text of a sampled token; returns false (and stays where it was) if the grammar does not allow
     * that text here.
     */
    public boolean accept(byte[] text) {
        Automaton.State next = state.next(text);
        if (next.isDead()) {
            return false;
        }
        state = next;
        return true;
    }

    /** Whether the text so far is a whole sentence of the grammar. */
    public boolean canEnd() {
        return state.canEnd();
    }

    /** Whether the text so far is a whole sentence of the grammar and nothing may follow it. */
    public boolean isComplete() {
        return state.isComplete();
    }
}
