package dev.kvslim.tasks.synthetic;

import dev.kvslim.tasks.Sample;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A long running computation: a list of numbered two-digit items fills the context, and the target adds them up
 * step by step, modulo 100. Once a step is written, its item and the step before it are never needed again: most of
 * the trace is useless right after it is used, the regime DMS's learned eviction is made for.
 *
 * <pre>
 * prompt: Add up the list. green sky a001=12 a002=07 a003=33
 *         Sum:
 * target: a001=12:12 a002=07:19 a003=33:52
 * </pre>
 *
 * Each step writes the next item's name (the previous name plus one, three digits), copies its value by that name
 * ({@code "a002="} is an induction cue), and writes the partial sum after {@code ':'}: the previous partial sum plus
 * that value, modulo 100, two digits. Steps are separated as the list's items are (a space), and the last step is
 * followed by the newline that follows the last item in the list, so the model learns when to stop by looking at what
 * follows the item it just copied. Every item and step has a fixed width; the list has as many items as fit (at most
 * 999), and the few tokens left over become filler before the list. The answer is the last partial sum.
 */
public final class RunSumTask extends SyntheticTask {

    static final String HEADER = "Add up the list.";
    static final String QUESTION = "\nSum:\n";
    static final int MAX_ITEMS = 999;
    /** " a001=12" in the list plus "a001=12:12" and its separator in the target. */
    private static final int CHARS_PER_ITEM = 8 + 11;

    public RunSumTask() {
        super("runsum");
    }

    @Override
    public Sample generate(long seed, int contextTokens) {
        SplittableRandom random = random(seed);
        int fixed = HEADER.length() + QUESTION.length();
        int items = Math.min(MAX_ITEMS, fillerChars(contextTokens, fixed + 2 * CHARS_PER_ITEM) / CHARS_PER_ITEM + 2);
        StringBuilder list = new StringBuilder();
        StringBuilder trace = new StringBuilder();
        int sum = 0;
        for (int i = 1; i <= items; i++) {
            int value = random.nextInt(100);
            sum = (sum + value) % 100;
            list.append(' ').append(item(i, value));
            trace.append(step(i, value, sum)).append(i < items ? " " : Sample.TERMINATOR);
        }
        int filler = fillerChars(contextTokens, fixed + list.length() + trace.length());
        String prompt = HEADER + Haystack.weave(random, filler, List.of()) + list + QUESTION;
        return sample(seed, contextTokens, prompt, trace.toString(), Haystack.digits(sum, 2));
    }

    /** Item {@code index} of the list: {@code a002=26}. */
    static String item(int index, int value) {
        return "a" + Haystack.digits(index, 3) + "=" + Haystack.digits(value, 2);
    }

    /** The trace's step for item {@code index}: {@code a002=26:40}, the item and the partial sum. */
    static String step(int index, int value, int sum) {
        return item(index, value) + ":" + Haystack.digits(sum, 2);
    }
}
