package dev.kvslim.tasks.synthetic;

import dev.kvslim.tasks.Sample;
import java.util.SplittableRandom;

/**
 * A warm-up task, not one of the four the demo model is judged on: filler words, a short line of random
 * letter-and-digit groups, then the same line again. Every step is the plainest induction there is (find where the current token occurred before and
 * copy what followed it), so a small model learns the copying mechanism here in a few hundred steps, and then reuses
 * it for the records of the real tasks, whose keys span several tokens and take far longer to discover on their own.
 *
 * <pre>
 * prompt: Repeat the line. river stone sky
 *         K3Q 91A ZZ0 7PD
 *         Again:
 * target: K3Q 91A ZZ0 7PD
 * </pre>
 *
 * The line is at most {@value #MAX_LINE} characters (fewer when the context is short), so that each symbol occurs
 * about once in it and the copy is a short hop: the easy case in which small models find induction first. Filler
 * words take the rest of the context. A generation scores when its first line equals the line exactly.
 */
public final class CopyTask extends SyntheticTask {

    static final String HEADER = "Repeat the line.";
    static final String QUESTION = "\nAgain:\n";
    private static final String SYMBOLS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static final int MAX_LINE = 31;

    public CopyTask() {
        super("copy");
    }

    @Override
    public Sample generate(long seed, int contextTokens) {
        SplittableRandom random = random(seed);
        // the line appears twice, the second time followed by the terminator
        int free = fillerChars(contextTokens, HEADER.length() + 1 + QUESTION.length() + Sample.TERMINATOR.length());
        int length = Math.min(MAX_LINE, free / 2);
        String padding = Haystack.weave(random, free - 2 * length, java.util.List.of());
        StringBuilder line = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            boolean gap = i % 4 == 3 && i < length - 1;
            line.append(gap ? ' ' : SYMBOLS.charAt(random.nextInt(SYMBOLS.length())));
        }
        String text = line.toString();
        return sample(seed, contextTokens, HEADER + padding + "\n" + text + QUESTION, text + Sample.TERMINATOR, text);
    }

    /** The whole first line must equal the copied line. */
    @Override
    public boolean score(Sample sample, String generated) {
        int end = generated.indexOf('\n');
        return (end < 0 ? generated : generated.substring(0, end)).equals(sample.answer());
    }
}
