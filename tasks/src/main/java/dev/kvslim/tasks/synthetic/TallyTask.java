package dev.kvslim.tasks.synthetic;

import dev.kvslim.tasks.Sample;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A warm-up task, not one of the four the demo model is judged on: running totals written in exactly the trace
 * formats of {@link RunSumTask} and {@link ArithmeticTask}, but with every value written inline, so nothing has to be
 * looked up and half of all tokens are two-digit additions and subtractions modulo 100 of numbers a fixed distance
 * back.
 *
 * <pre>
 * prompt: Keep the running totals. sun
 *         a001=14:14 a002=26:40 a003=95:35
 *         HF=49 HF+AK=86:35 AK-IM=84:51
 *         a001=08:08
 * target: a002=77:85 a003=42:27
 * </pre>
 *
 * In the tasks these sums are rare (a few per hundred tokens, each behind a retrieval): a 4-layer model that had
 * learnt every copy and retrieval of runsum and arithmetic still wrote one constant for every sum after 2,500 steps,
 * while on dense sums of this kind it learns the low digit within about 1,000 steps. Lines alternate at random between
 * the two formats; as many as fit fill the context, filler words take what is left. The answer is the last total.
 */
public final class TallyTask extends SyntheticTask {

    static final String HEADER = "Keep the running totals.";

    public TallyTask() {
        super("tally");
    }

    @Override
    public Sample generate(long seed, int contextTokens) {
        SplittableRandom random = random(seed);
        int budget = fillerChars(contextTokens, HEADER.length() + 1);
        List<String> last = line(random);
        if (length(last) > budget) {
            last = shortest(random);
            // throws, naming the task, when even the shortest line does not fit
            fillerChars(contextTokens, HEADER.length() + 1 + length(last));
        }
        budget -= length(last);
        List<String> earlier = new ArrayList<>();
        while (true) {
            List<String> line = line(random);
            if (length(line) > budget) {
                break;
            }
            earlier.add(String.join(" ", line));
            budget -= length(line);
        }
        StringBuilder prompt = new StringBuilder(HEADER)
                .append(Haystack.weave(random, budget, List.of()))
                .append('\n');
        for (String line : earlier) {
            prompt.append(line).append('\n');
        }
        prompt.append(last.getFirst()).append(' ');
        String target = String.join(" ", last.subList(1, last.size())) + Sample.TERMINATOR;
        String lastStep = last.getLast();
        return sample(seed, contextTokens, prompt.toString(), target, lastStep.substring(lastStep.length() - 2));
    }

    /** Characters of a line written with its separators and newline. */
    private static int length(List<String> steps) {
        return steps.stream().mapToInt(s -> s.length() + 1).sum();
    }

    private static List<String> line(SplittableRandom random) {
        return random.nextBoolean()
                ? runningSum(random, random.nextInt(2, 13))
                : expression(random, random.nextInt(3, 7));
    }

    private static List<String> shortest(SplittableRandom random) {
        return runningSum(random, 2);
    }

    /** {@code a001=14:14 a002=26:40 ...}: RunSumTask's trace. */
    private static List<String> runningSum(SplittableRandom random, int items) {
        List<String> steps = new ArrayList<>();
        int sum = 0;
        for (int i = 1; i <= items; i++) {
            int value = random.nextInt(100);
            sum = (sum + value) % 100;
            steps.add(RunSumTask.step(i, value, sum));
        }
        return steps;
    }

    /** {@code HF=49 HF+AK=86:35 AK-IM=84:51 ...}: ArithmeticTask's trace. */
    private static List<String> expression(SplittableRandom random, int operands) {
        List<String> names = Haystack.disjointNames(random, operands, 2);
        int result = random.nextInt(100);
        List<String> steps = new ArrayList<>();
        steps.add(ArithmeticTask.firstStep(names.getFirst(), result));
        for (int i = 1; i < operands; i++) {
            int value = random.nextInt(100);
            boolean plus = random.nextBoolean();
            result = Math.floorMod(plus ? result + value : result - value, 100);
            steps.add(ArithmeticTask.step(names.get(i - 1), plus, names.get(i), value, result));
        }
        return steps;
    }
}
