package dev.kvslim.tasks.synthetic;

import dev.kvslim.tasks.Sample;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Needle retrieval: a few code records at random depths in filler, then a question about one of them.
 *
 * <pre>
 * prompt: Remember the codes. ... The code for XQJ=4821. ... The code for BMT=0375. ...
 *         What is the code for XQJ?
 * target: XQJ=4821
 * </pre>
 *
 * The target first copies the key from the question right above it, then "=4821" is a plain induction copy of what
 * follows that key in its record; the cue for the first digit is the key's last letter and {@code '='}, two tokens,
 * as in the other tasks. (With {@code "XQJ is 4821"} the letter that tells the records apart is four tokens before
 * the first digit: a 4-layer model that found every two-token cue of the other tasks at 1,024 tokens reached 81-94%
 * on them but 19% on this one, nearly always with the right record and a wrong first digit.) There is one record per 256 tokens of context (2 to 8); keys are three
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
            records.add("The code for " + keys.get(i) + "=" + codes.get(i) + ".");
        }
        int asked = random.nextInt(count);
        String question = "\nWhat is the code for " + keys.get(asked) + "?\n";
        String target = keys.get(asked) + "=" + codes.get(asked) + Sample.TERMINATOR;
        int recordChars = records.stream().mapToInt(r -> 1 + r.length()).sum();
        int filler = fillerChars(contextTokens, HEADER.length() + recordChars + question.length() + target.length());
        String prompt = HEADER + Haystack.weave(random, recordChars + filler, records) + question;
        return sample(seed, contextTokens, prompt, target, codes.get(asked));
    }
}
