package dev.kvslim.tasks.synthetic;

import dev.kvslim.tasks.Sample;
import java.util.SplittableRandom;

/**
 * A warm-up task, not one of the four the demo model is judged on: line after line of random letter-and-digit
 * groups, each written twice ({@code LINE|LINE}). Every second half is the plainest induction there is (find where the
 * current token occurred before and copy what followed it), at half of all tokens, so a small model finds the
 * copying mechanism here within a few hundred steps; it then reuses it for the records of the four tasks, whose
 * multi-token keys make it far slower to discover there (measured: a 4-layer model learned this format in about 150
 * steps and had not learned the tasks after 1,750).
 *
 * <pre>
 * prompt: Repeat each line. river stone
 *         K3Q 91A ZZ0 7PD|K3Q 91A ZZ0 7PD
 *         M0C 4XT 1QQ B8E|
 * target: M0C 4XT 1QQ B8E
 * </pre>
 *
 * Lines are {@value #LINE} characters; as many pairs as fit fill the context, filler words take what is left. A
 * generation scores when its first line equals the last line exactly.
 */
public final class CopyTask extends SyntheticTask {

    static final String HEADER = "Repeat each line.";
    private static final String SYMBOLS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    /** Six groups of three symbols. */
    static final int LINE = 23;

    public CopyTask() {
        super("copy");
    }

    @Override
    public Sample generate(long seed, int contextTokens) {
        SplittableRandom random = random(seed);
        int pair = 2 * LINE + 2; // LINE|LINE\n
        int free = fillerChars(contextTokens, HEADER.length() + 1 + pair);
        int pairs = 1 + free / pair;
        String filler = Haystack.weave(random, free - (pairs - 1) * pair, java.util.List.of());
        StringBuilder prompt = new StringBuilder(HEADER).append(filler).append('\n');
        String line = null;
        for (int i = 0; i < pairs; i++) {
            line = line(random);
            prompt.append(line).append('|');
            if (i < pairs - 1) {
                prompt.append(line).append('\n');
            }
        }
        return sample(seed, contextTokens, prompt.toString(), line + Sample.TERMINATOR, line);
    }

    private static String line(SplittableRandom random) {
        StringBuilder line = new StringBuilder(LINE);
        for (int i = 0; i < LINE; i++) {
            line.append(i % 4 == 3 ? ' ' : SYMBOLS.charAt(random.nextInt(SYMBOLS.length())));
        }
        return line.toString();
    }

    /** The whole first line must equal the last line. */
    @Override
    public boolean score(Sample sample, String generated) {
        int end = generated.indexOf('\n');
        return (end < 0 ? generated : generated.substring(0, end)).equals(sample.answer());
    }
}
