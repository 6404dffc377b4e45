package dev.kvslim.tasks;

import java.util.Objects;

/**
 * One generated problem: the {@code prompt} the model is given, the {@code target} it must write after it (the chain
 * of thought, when the task has one, ending with the task's final answer and the terminator {@code "\n"}), and that
 * final {@code answer} on its own, which is what {@link Task#score} compares.
 *
 * <p>All three are ASCII, so with the byte-level demo tokenizer every character is one token.
 *
 * @param task   the {@link Task#name()} that made it
 * @param seed   the seed it was made from; the same task, seed and context length give the same sample
 */
public record Sample(String task, long seed, String prompt, String target, String answer) {

    /** The terminator every target ends with: one line of output per sample. */
    public static final String TERMINATOR = "\n";

    public Sample {
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(answer, "answer");
        if (!target.endsWith(TERMINATOR) || target.indexOf('\n') != target.length() - 1) {
            throw new IllegalArgumentException(task + " seed " + seed + ": the target must be one line ending in \\n");
        }
    }

    /**
     * Tokens of the whole training sequence with a byte-level vocabulary: BOS, prompt, target, EOS.
     */
    public int byteLevelTokens() {
        return 1 + prompt.length() + target.length() + 1;
    }
}
