package dev.kvslim.tasks.synthetic;

import dev.kvslim.tasks.Sample;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Multi-step arithmetic with a written chain of thought: two-digit values defined by name at random depths, a sum
 * and difference of them asked at the end, worked out one operand at a time, modulo 100.
 *
 * <pre>
 * prompt: Use the values. ... BR=85. ... QX=37. ... TL=49. ... MZ=12. ...
 *         Compute QX+BR-MZ+TL.
 * target: QX=37 QX+BR=85:22 BR-MZ=12:10 MZ+TL=49:59
 * </pre>
 *
 * The target starts with the first operand and its value. Each further step restates the previous operand's name
 * (a copy from a fixed distance back), then copies from the question what follows that name there, the sign and the
 * next name ({@code "QX+BR"} is a piece of the question: an induction copy), copies the value by name from its
 * definition ({@code "BR="} is an induction cue), and writes the new intermediate after {@code ':'}: the previous
 * intermediate plus or minus that value, modulo 100, always two digits. Every step is thus short copies plus a
 * two-digit addition or subtraction of numbers the model has just written; the answer is the last intermediate. A
 * sample has 3 to 6 operands with two-letter names, no two sharing a letter.
 *
 * <p>(Restating the previous name matters for a small model: without it, the sign of the next step has to be found
 * in the question after a name written eight tokens earlier, a look-up a 4-layer model had not learnt after 2,500
 * steps while it had learnt every copy and retrieval around it.)
 */
public final class ArithmeticTask extends SyntheticTask {

    static final String HEADER = "Use the values.";

    public ArithmeticTask() {
        super("arithmetic");
    }

    @Override
    public Sample generate(long seed, int contextTokens) {
        SplittableRandom random = random(seed);
        int count = random.nextInt(3, 7);
        List<String> names = Haystack.disjointNames(random, count, 2);
        int[] values = random.ints(count, 0, 100).toArray();
        StringBuilder expression = new StringBuilder(names.getFirst());
        StringBuilder trace = new StringBuilder(firstStep(names.getFirst(), values[0]));
        int result = values[0];
        for (int i = 1; i < count; i++) {
            boolean plus = random.nextBoolean();
            result = Math.floorMod(plus ? result + values[i] : result - values[i], 100);
            String step = (plus ? "+" : "-") + names.get(i);
            expression.append(step);
            trace.append(' ').append(step(names.get(i - 1), plus, names.get(i), values[i], result));
        }
        String answer = Haystack.digits(result, 2);
        String question = "\nCompute " + expression + ".\n";
        String target = trace.append(Sample.TERMINATOR).toString();

        List<String> definitions = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            definitions.add(names.get(i) + "=" + Haystack.digits(values[i], 2) + ".");
        }
        shuffle(random, definitions);
        int recordChars = definitions.stream().mapToInt(r -> 1 + r.length()).sum();
        int filler = fillerChars(contextTokens, HEADER.length() + recordChars + question.length() + target.length());
        String prompt = HEADER + Haystack.weave(random, recordChars + filler, definitions) + question;
        return sample(seed, contextTokens, prompt, target, answer);
    }

    /** The trace's first step: {@code HF=49}. */
    static String firstStep(String name, int value) {
        return name + "=" + Haystack.digits(value, 2);
    }

    /**
     * A further step of the trace, {@code HF+AK=86:35}: the previous operand, the sign, the operand, its value and the
     * new intermediate.
     */
    static String step(String previous, boolean plus, String name, int value, int result) {
        return previous + (plus ? "+" : "-") + name + "=" + Haystack.digits(value, 2) + ":"
                + Haystack.digits(result, 2);
    }

    private static void shuffle(SplittableRandom random, List<String> list) {
        for (int i = list.size() - 1; i > 0; i--) {
            list.set(i, list.set(random.nextInt(i + 1), list.get(i)));
        }
    }
}
