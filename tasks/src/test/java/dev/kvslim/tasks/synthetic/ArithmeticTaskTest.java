package dev.kvslim.tasks.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.tasks.Sample;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ArithmeticTaskTest {

    private static final Pattern DEFINITION = Pattern.compile(" ([A-Z]{2})=(\\d{2})\\.");
    private static final Pattern QUESTION = Pattern.compile("\nCompute ([A-Z]{2})((?:[+-][A-Z]{2}){2,5})\\.\n$");
    private static final Pattern OPERATION = Pattern.compile("([+-])([A-Z]{2})");
    private final ArithmeticTask task = new ArithmeticTask();

    @Test
    void everyStepOfTheTraceCopiesTheRightValueAndComputesTheRightIntermediate() {
        for (int n = 0; n < 300; n++) {
            Sample s = task.generate(n, 1024);
            Map<String, Integer> values = new HashMap<>();
            Matcher d = DEFINITION.matcher(s.prompt());
            while (d.find()) {
                assertThat(values.put(d.group(1), Integer.parseInt(d.group(2)))).isNull();
            }
            Matcher q = QUESTION.matcher(s.prompt());
            assertThat(q.find()).as(s.prompt()).isTrue();
            String first = q.group(1);
            StringBuilder expected = new StringBuilder(first + "=" + two(values.get(first)));
            int result = values.get(first);
            Matcher op = OPERATION.matcher(q.group(2));
            int steps = 1;
            String previous = first;
            while (op.find()) {
                int value = values.get(op.group(2));
                result = op.group(1).equals("+") ? result + value : result - value;
                result = (result % 100 + 100) % 100;
                expected.append(' ')
                        .append(previous)
                        .append(op.group())
                        .append('=')
                        .append(two(value))
                        .append(':')
                        .append(two(result));
                previous = op.group(2);
                steps++;
            }
            assertThat(steps).isBetween(3, 6).isEqualTo(values.size());
            assertThat(s.target()).isEqualTo(expected + "\n");
            assertThat(s.answer()).isEqualTo(two(result));
        }
    }

    @Test
    void theTraceOfAHandWorkedExampleHasTheRightArithmetic() {
        // Independent of the generator: the documented example worked by hand.
        String trace = "QX=37 QX+BR=85:22 BR-MZ=12:10 MZ+TL=49:59";
        assertThat((37 + 85) % 100).isEqualTo(22);
        assertThat(Math.floorMod(22 - 12, 100)).isEqualTo(10);
        assertThat((10 + 49) % 100).isEqualTo(59);
        assertThat(dev.kvslim.tasks.Task.finalAnswer(trace + "\n")).isEqualTo("59");
    }

    @Test
    void definitionsAreAtAnyDepthAndOnAverageHundredsOfTokensBack() {
        long distance = 0;
        int count = 0;
        double min = 1;
        double max = 0;
        for (int n = 0; n < 300; n++) {
            Sample s = task.generate(n, 1024);
            Matcher d = DEFINITION.matcher(s.prompt());
            while (d.find()) {
                double depth = (double) d.start() / s.prompt().length();
                min = Math.min(min, depth);
                max = Math.max(max, depth);
                distance += s.prompt().length() - d.start();
                count++;
            }
        }
        assertThat(min).isLessThan(0.05);
        assertThat(max).isGreaterThan(0.9);
        assertThat(distance / count).isBetween(350L, 650L);
    }

    private static String two(int value) {
        return (value < 10 ? "0" : "") + value;
    }
}
