package dev.kvslim.core.constrain;

import dev.kvslim.core.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * A model's vocabulary arranged for computing which tokens a grammar allows next: every token's text bytes (as it
 * prints in the middle of a text), sorted, with the length each shares with the one before. The allowed set of a
 * state is found by walking the sorted list once, reusing the automaton's states along the shared prefix and skipping
 * every token that starts with a prefix already rejected, so most of a 32K vocabulary costs a comparison. Each
 * state's set is kept (on the state) once computed. Tokens that print nothing (control tokens) are never allowed by
 * the grammar; the end-of-generation tokens are added by {@link Constraint} where the grammar may end.
 *
 * <p>Immutable and shared: one per tokenizer ({@link #of}).
 */
public final class TokenMask {

    private static final Map<Tokenizer, TokenMask> CACHE = Collections.synchronizedMap(new WeakHashMap<>());

    private final int vocabSize;
    private final int[] order; // token ids with text, sorted by their bytes
    private final byte[][] bytes; // by rank
    private final int[] shared; // by rank: bytes shared with the previous rank's token
    private final int longest;

    private TokenMask(Tokenizer tokenizer) {
        this.vocabSize = tokenizer.vocabSize();
        byte[][] byId = new byte[vocabSize][];
        Integer[] ids = new Integer[vocabSize];
        int n = 0;
        for (int id = 0; id < vocabSize; id++) {
            byId[id] = tokenizer.decodePiece(-1, id);
            if (byId[id].length > 0) {
                ids[n++] = id;
            }
        }
        Arrays.sort(ids, 0, n, (a, b) -> Arrays.compareUnsigned(byId[a], byId[b]));
        order = new int[n];
        bytes = new byte[n][];
        shared = new int[n];
        int max = 0;
        for (int r = 0; r < n; r++) {
            order[r] = ids[r];
            bytes[r] = byId[ids[r]];
            max = Math.max(max, bytes[r].length);
            if (r > 0) {
                int m = Arrays.mismatch(bytes[r - 1], bytes[r]);
                shared[r] = m < 0 ? bytes[r].length : m;
            }
        }
        longest = max;
    }

    /** The mask of {@code tokenizer}'s vocabulary, made on first use and kept while the tokenizer lives. */
    public static TokenMask of(Tokenizer tokenizer) {
        return CACHE.computeIfAbsent(tokenizer, TokenMask::new);
    }

    public int vocabSize() {
        return vocabSize;
    }

    /**
     * The tokens whose whole text the grammar accepts from {@code state} (a bit per token id, in words of 64); kept
     * on the state. The caller must not change the array.
     */
    long[] allowed(Automaton.State state) {
        if (state.mask != null && state.maskVocabulary == this) {
            return state.mask;
        }
        long[] mask = new long[(vocabSize + 63) >>> 6];
        Automaton.State[] path = new Automaton.State[longest + 1];
        path[0] = state;
        int valid = 0; // path[0..valid] hold the states along the previous token's bytes
        for (int r = 0; r < order.length; r++) {
            int common = shared[r];
            if (common > valid) {
                continue; // starts with the prefix the previous token was rejected at
            }
            byte[] b = bytes[r];
            int k = common;
            while (k < b.length) {
                Automaton.State s = path[k].next(b[k] & 0xFF);
                if (s.isDead()) {
                    break;
                }
                path[++k] = s;
            }
            valid = k;
            if (k == b.length) {
                int id = order[r];
                mask[id >>> 6] |= 1L << id;
            }
        }
        state.mask = mask;
        state.maskVocabulary = this;
        return mask;
    }
}
