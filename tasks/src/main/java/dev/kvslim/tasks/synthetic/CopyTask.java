package dev.kvslim.tasks.synthetic;

import dev.kvslim.tasks.Sample;
import java.util.SplittableRandom;

/**
 * A warm-up task, not one of the four the demo model is judged on: line after line of random letter-and-digit
 * groups, each written twice ({@code LINE|LINE}). Every second half is plain induction (find where the current
 * tokens occurred before and copy what followed them), at half of all tokens, so a small model finds the copying
 * mechanism here first and then reuses it for the records of the four tasks.
 *
 * <pre>
 * prompt: Repeat each line. river stone
 *         K3Q 91 ZZ0P|K3Q 91 ZZ0P
 *         M0C 4XT 1Q B8EE 7Y|
 * target: M0C 4XT 1Q B8EE 7Y
 * </pre>
 *
 * A line has 1 to 8 groups of 2 to 4 symbols, so lines differ in length: the copy sits at a different distance
 * every time and can only be found by content. (With fixed-length lines a model learns "copy from 24 tokens back"
 * instead, a relative-position head that is no use for the tasks.) As many pairs as fit fill the context, filler
 * words take what is left. A generation scores when its first line equals the last line exactly.
 */
public final class CopyTask extends SyntheticTask {

    static final String HEADER = "Repeat each line.";
    private static final String SYMBOLS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static final int MAX_GROUPS = 8;
    static final int MIN_GROUP = 2;
    static final int MAX_GROUP = 4;

    public CopyTask() {
        super("copy");
    }

    @Override
    public Sample generate(long seed, int contextTokens) {
        SplittableRandom random = random(seed);
        int budget = fillerChars(contextTokens, HEADER.length() + 1 + pairChars(MIN_GROUP));
        String last = line(random, budget + pairChars(MIN_GROUP));
        budget -= pairChars(last.length()) - pairChars(MIN_GROUP);
        java.util.List<String> earlier = new java.util.ArrayList<>();
        while (true) {
            String line = line(random, Integer.MAX_VALUE);
            if (pairChars(line.length()) > budget) {
                break;
            }
            earlier.add(line);
            budget -= pairChars(line.length());
        }
        StringBuilder prompt = new StringBuilder(HEADER)
                .append(Haystack.weave(random, budget, java.util.List.of()))
                .append('\n');
        for (String line : earlier) {
            prompt.append(line).append('|').append(line).append('\n');
        }
        prompt.append(last).append('|');
        return sample(seed, contextTokens, prompt.toString(), last + Sample.TERMINATOR, last);
    }

    /** Characters of one written pair: {@code LINE|LINE} and its newline. */
    private static int pairChars(int lineChars) {
        return 2 * lineChars + 2;
    }

    /** A random line whose pair takes at most {@code maxPairChars}; at least one group of the shortest size. */
    private static String line(SplittableRandom random, int maxPairChars) {
        StringBuilder line = new StringBuilder();
        int groups = 1 + random.nextInt(MAX_GROUPS);
        for (int g = 0; g < groups; g++) {
            int size = MIN_GROUP + random.nextInt(MAX_GROUP - MIN_GROUP + 1);
            int grown = line.length() + (g > 0 ? 1 : 0) + size;
            if (g > 0 && pairChars(grown) > maxPairChars) {
                break;
            }
            if (g == 0 && pairChars(size) > maxPairChars) {
                size = MIN_GROUP;
            }
            if (g > 0) {
                line.append(' ');
            }
            for (int i = 0; i < size; i++) {
                line.append(SYMBOLS.charAt(random.nextInt(SYMBOLS.length())));
            }
        }
        return line.toString();
    }

    /** The answer is the whole first line, which must equal the last line. */
    @Override
    public String answerOf(String generated) {
        int end = generated.indexOf('\n');
        return end < 0 ? generated : generated.substring(0, end);
    }
}
