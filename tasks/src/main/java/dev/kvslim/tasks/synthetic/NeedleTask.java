package dev.kvslim.tasks.synthetic;

import dev.kvslim.tasks.Sample;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Needle retrieval: a few code records at random depths in filler, then a question about one of them.
 *
 * <pre>
 * prompt: Remember the codes. ... The code for XQJ is 4821. ... The code for BMT is 0375. ...
 *         What is the code for XQJ?
 * target: XQJ is 4821
 * </pre>
 *
 * The target first copies the key from the question right above it, then " is 4821" is a plain induction copy of
 * what follows that key in its record. There is one record per 256 tokens of context (2 to 8); keys are three
 * letters and no two keys of a sample share a letter; codes are four digits, distinct within a sample.
 */
public final class NeedleTask extends SyntheticTask {

    static final String HEADER = "Remember the codes.";
    private static final int TOKENS_PER_RECORD = 256;

    public NeedleTask() {
        super("needle");
    }

    @Override
    public Sample generate(long seed, int contextTokens) {
        SplittableRandom random = random(seed);
        int count = Math.clamp(contextTokens / TOKENS_PER_RECORD, 2, 8);
        List<String> keys = Haystack.disjointNames(random, count, 3);
        List<String> codes = Haystack.distinctNumbers(random, count, 4);
        List<String> records = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            records.add("The code for " + keys.get(i) + " is " + codes.get(i) + ".");
        }
        int asked = random.nextInt(count);
        String question = "\nWhat is the code for " + keys.get(asked) + "?\n";
        String target = keys.get(asked) + " is " + codes.get(asked) + Sample.TERMINATOR;
        int recordChars = records.stream().mapToInt(r -> 1 + r.length()).sum();
        int filler = fillerChars(contextTokens, HEADER.length() + recordChars + question.length() + target.length());
        String prompt = HEADER + Haystack.weave(random, recordChars + filler, records) + question;
        return sample(seed, contextTokens, prompt, target, codes.get(asked));
    }
}
