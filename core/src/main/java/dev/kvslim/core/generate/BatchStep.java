package dev.kvslim.core.generate;

import dev.kvslim.core.model.Model;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * One step of batched generation, in three parts every front end shares: {@link #plan} picks the tokens (one for
 * every decoding sequence first, then prompt chunks in order, within a token budget), {@link #forward} runs them
 * through the model in one pass, and {@link #ready} hands each sequence whose tokens are now all cached its logits,
 * for {@link Generation#decode} (sample and stop). The server adds admission and preemption around it; the task
 * evaluator and {@link Generator} call it as is.
 */
public final class BatchStep {

    /** A step's batch: the sequences and one chunk of each, in the same order. */
    public record Plan<S extends Generation<?>>(List<S> sequences, List<Model.Chunk> chunks) {

        /** Whether the plan runs nothing. */
        public boolean isEmpty() {
            return chunks.isEmpty();
        }
    }

    private BatchStep() {}

    /**
     * Plans a step over {@code running} (every one with a cache): a token for each sequence that is decoding (one token
     * pending), then chunks of the prompts still being computed, in order, until {@code budget} tokens are planned.
     */
    public static <S extends Generation<?>> Plan<S> plan(List<S> running, int budget) {
        List<S> sequences = new ArrayList<>();
        List<Model.Chunk> chunks = new ArrayList<>();
        int left = budget;
        for (S s : running) {
            if (s.pending() == 1 && left > 0) {
                add(s, 1, sequences, chunks);
                left--;
            }
        }
        for (S s : running) {
            if (s.pending() > 1 && left > 0) {
                int len = Math.min(s.pending(), left);
                add(s, len, sequences, chunks);
                left -= len;
            }
        }
        return new Plan<>(sequences, chunks);
    }

    private static <S extends Generation<?>> void add(S s, int len, List<S> sequences, List<Model.Chunk> chunks) {
        sequences.add(s);
        chunks.add(new Model.Chunk(s.cache(), s.tokenArray(), s.cached(), len, s.cached()));
    }

    /**
     * Runs the plan in one forward pass ({@code state} must hold its tokens) and notes what each cache now holds;
     * returns the logits of each chunk's last token, in plan order.
     */
    public static float[][] forward(Model model, Model.State state, Plan<?> plan) {
        float[][] logits = model.forward(state, plan.chunks());
        for (int i = 0; i < plan.sequences().size(); i++) {
            plan.sequences().get(i).advance(plan.chunks().get(i).len());
        }
        return logits;
    }

    /** Hands every planned sequence whose tokens are now all cached the logits of its last token. */
    public static <S extends Generation<?>> void ready(Plan<S> plan, float[][] logits, BiConsumer<S, float[]> next) {
        for (int i = 0; i < plan.sequences().size(); i++) {
            S s = plan.sequences().get(i);
            if (s.pending() == 0) {
                next.accept(s, logits[i]);
            }
        }
    }
}
