package dev.kvslim.tasks;

/**
 * A family of long-context problems with exactly checkable answers, generated from a seed so that training and
 * evaluation data are reproducible and need no files.
 *
 * <p>Every sample is made for a context length: BOS + prompt + target + EOS is exactly {@code contextTokens} tokens
 * of the byte-level demo tokenizer (prompts and targets are ASCII, one token per character), so a trainer can batch
 * samples without padding.
 *
 * <p><b>Scoring.</b> The model's output is scored on its final answer only: the first line of the generated text
 * (up to the first {@code "\n"}, or all of it) must end with the answer, and {@link #finalAnswer} takes the run of
 * digits it ends with. Every target is built to end with its answer, so a model that writes the target scores. The
 * chain of thought is not compared: it is the model's working, as in the reasoning benchmarks of the DMS paper, and
 * what the KV-compression measurements ask is whether the information the answer depends on survived eviction; a
 * wrong intermediate step that matters shows up as a wrong answer anyway.
 */
public interface Task {

    /** Short lower-case name, used in reports and to pick tasks by name. */
    String name();

    /**
     * The sample for {@code seed} at {@code contextTokens}: deterministic, and different seeds give different samples.
     *
     * @throws IllegalArgumentException if {@code contextTokens} is too short for this task
     */
    Sample generate(long seed, int contextTokens);

    /** Whether {@code generated} (the text the model wrote after the prompt) gives the sample's answer exactly. */
    default boolean score(Sample sample, String generated) {
        String answer = answerOf(generated);
        return !answer.isEmpty() && answer.equals(sample.answer());
    }

    /**
     * The answer {@code generated} gives, as {@link #score} reads it ("" for none): what a majority vote over several
     * generations counts. {@link #finalAnswer} unless a task reads answers differently.
     */
    default String answerOf(String generated) {
        return finalAnswer(generated);
    }

    /**
     * The answer a generation gives: the digits at the end of its first line ("" if that line does not end in a
     * digit). {@code "QX=BR=4821\n..."} gives {@code "4821"}; {@code "4821."} gives {@code ""}.
     */
    static String finalAnswer(String generated) {
        int newline = generated.indexOf('\n');
        String line = newline < 0 ? generated : generated.substring(0, newline);
        int start = line.length();
        while (start > 0 && line.charAt(start - 1) >= '0' && line.charAt(start - 1) <= '9') {
            start--;
        }
        return line.substring(start);
    }
}
