package dev.kvslim.tasks.synthetic;

import dev.kvslim.tasks.Sample;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Multi-hop variable tracking in the style of RULER: chains of assignments among distractor chains and filler, then
 * a question about the last variable of one chain, answered by following it back to its number hop by hop.
 *
 * <pre>
 * prompt: Track the variables. ... MZ=4821. ... KD=0917. ... BR=MZ. ... QX=BR. ...
 *         Trace QX:
 * target: QX=BR=MZ=4821
 * </pre>
 *
 * Each hop of the target is an induction copy: after writing {@code "BR="} the model finds the assignment that starts
 * with {@code "BR="} and copies what follows it, until it copies a number. A sample has three chains of 2 to 4
 * variables (the asked one and two distractors); a chain's assignments appear in order (the number first) at random
 * depths; names are two letters, no two sharing a letter; numbers are four digits, distinct within a sample.
 */
public final class VarTrackTask extends SyntheticTask {

    static final String HEADER = "Track the variables.";
    private static final int CHAINS = 3;

    public VarTrackTask() {
        super("vartrack");
    }

    @Override
    public Sample generate(long seed, int contextTokens) {
        SplittableRandom random = random(seed);
        int[] lengths = random.ints(CHAINS, 2, 5).toArray();
        List<String> names = Haystack.disjointNames(random, sum(lengths), 2);
        List<String> numbers = Haystack.distinctNumbers(random, CHAINS, 4);
        List<List<String>> chains = new ArrayList<>();
        int next = 0;
        for (int c = 0; c < CHAINS; c++) {
            List<String> chain = new ArrayList<>();
            chain.add(names.get(next) + "=" + numbers.get(c) + ".");
            for (int k = 1; k < lengths[c]; k++) {
                chain.add(names.get(next + k) + "=" + names.get(next + k - 1) + ".");
            }
            chains.add(chain);
            next += lengths[c];
        }
        // Chain 0 is asked: its last variable, traced back to its first.
        StringBuilder trace = new StringBuilder();
        for (int k = lengths[0] - 1; k >= 0; k--) {
            trace.append(names.get(k)).append('=');
        }
        String target = trace.append(numbers.get(0)).append(Sample.TERMINATOR).toString();
        String question = "\nTrace " + names.get(lengths[0] - 1) + ":\n";

        List<String> records = interleave(random, chains);
        int recordChars = records.stream().mapToInt(r -> 1 + r.length()).sum();
        int filler = fillerChars(contextTokens, HEADER.length() + recordChars + question.length() + target.length());
        String prompt = HEADER + Haystack.weave(random, recordChars + filler, records) + question;
        return sample(seed, contextTokens, prompt, target, numbers.get(0));
    }

    /** A random merge of the chains that keeps each chain's order. */
    private static List<String> interleave(SplittableRandom random, List<List<String>> chains) {
        int[] taken = new int[chains.size()];
        int left = chains.stream().mapToInt(List::size).sum();
        List<String> merged = new ArrayList<>(left);
        for (; left > 0; left--) {
            int pick = random.nextInt(left);
            int c = 0;
            while (pick >= chains.get(c).size() - taken[c]) {
                pick -= chains.get(c).size() - taken[c];
                c++;
            }
            merged.add(chains.get(c).get(taken[c]++));
        }
        return merged;
    }

    private static int sum(int[] values) {
        int total = 0;
        for (int v : values) {
            total += v;
        }
        return total;
    }
}
