package dev.kvslim.core.generate;

import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tokenizer.Tokenizer;

/**
 * KVzip's scoring pass (Kim et al., arXiv 2505.23416): after a prompt's prefill, the model reads an instruction to
 * repeat the context and then the context itself, {@value #CHUNK} tokens at a time, each chunk at the positions right
 * after the prompt and attending to all of it; the cache's policy takes each prompt token's score from the attention
 * those queries put on it, drops the replayed tokens after each chunk, and at the end evicts down to its budget
 * ({@link PagedKvCache#beginReplay}). It costs about a second prefill of the prompt. The front ends that decode a
 * sequence on its own ({@link Generator}, the task evaluator) run it for caches that ask ({@link
 * PagedKvCache#replaysContext}).
 */
public final class ContextReplay {

    /** The repeat instruction, after KVzip's. */
    public static final String INSTRUCTION = "\n\nRepeat the previous context exactly.\n";

    /** Prompt tokens replayed per forward pass. */
    public static final int CHUNK = 128;

    private ContextReplay() {}

    /** The instruction's tokens for {@code tokenizer} (no BOS). */
    public static int[] instruction(Tokenizer tokenizer) {
        return tokenizer.encode(INSTRUCTION, false);
    }

    /** Positions a replay of a prompt needs beyond it: the instruction and one chunk. */
    public static int room(int[] instruction) {
        return instruction.length + CHUNK;
    }

    /** Throws, naming what it needs, where a {@code length}-token prompt leaves no room in {@code capacity} to replay. */
    static void requireRoom(int length, int[] instruction, int capacity) {
        if (length + room(instruction) > capacity) {
            throw new IllegalArgumentException("kvzip replays the prompt after it: a " + length + "-token prompt needs "
                    + (length + room(instruction)) + " positions, the cache has " + capacity);
        }
    }

    /** Whether {@code cache} needs the replay: a paged cache whose policy scores its context that way. */
    public static boolean wanted(KvCache cache) {
        return cache instanceof PagedKvCache p && p.replaysContext();
    }

    /**
     * Replays {@code tokens[1 .. length)} (the prompt after its first token, BOS) into {@code cache}, which holds
     * exactly those {@code length} tokens, in a state of its own (the caller's logits stay as they are).
     *
     * @throws IllegalArgumentException if the cache has no room for the replay after the prompt
     */
    public static void run(Model model, PagedKvCache cache, int[] tokens, int length, int[] instruction) {
        if (cache.length() != length) {
            throw new IllegalStateException("the cache holds " + cache.length() + " tokens, the prompt " + length);
        }
        requireRoom(length, instruction, cache.capacity());
        int[] input = new int[instruction.length + CHUNK];
        System.arraycopy(instruction, 0, input, 0, instruction.length);
        Model.State state = model.newState(input.length);
        cache.beginReplay();
        for (int from = Math.min(1, length); from < length; from += CHUNK) {
            int n = Math.min(CHUNK, length - from);
            System.arraycopy(tokens, from, input, instruction.length, n);
            model.forward(state, input, 0, instruction.length + n, length, cache);
            cache.endReplayChunk();
        }
        cache.endReplay();
    }
}
