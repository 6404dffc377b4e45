package dev.kvslim.tasks.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.tasks.Sample;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class RunSumTaskTest {

    private static final Pattern ITEM = Pattern.compile(" a(\\d{3})=(\\d{2})");
    private static final Pattern STEP = Pattern.compile("a(\\d{3})=(\\d{2}):(\\d{2})([ \n])");
    private final RunSumTask task = new RunSumTask();

    @Test
    void everyStepCopiesTheNextItemAndAddsItToThePartialSum() {
        for (int context : new int[] {256, 1024, 4096}) {
            for (int n = 0; n < 50; n++) {
                Sample s = task.generate(n, context);
                List<Integer> items = new ArrayList<>();
                Matcher item = ITEM.matcher(s.prompt());
                while (item.find()) {
                    assertThat(Integer.parseInt(item.group(1))).isEqualTo(items.size() + 1);
                    items.add(Integer.parseInt(item.group(2)));
                }
                assertThat(s.prompt()).endsWith("a" + three(items.size()) + "=" + two(items.getLast()) + "\nSum:\n");
                Matcher step = STEP.matcher(s.target());
                int sum = 0;
                int k = 0;
                int end = 0;
                while (step.find()) {
                    assertThat(step.start()).isEqualTo(end);
                    end = step.end();
                    sum = (sum + items.get(k)) % 100;
                    k++;
                    assertThat(Integer.parseInt(step.group(1))).isEqualTo(k);
                    assertThat(Integer.parseInt(step.group(2))).isEqualTo(items.get(k - 1));
                    assertThat(Integer.parseInt(step.group(3))).isEqualTo(sum);
                    assertThat(step.group(4)).isEqualTo(k == items.size() ? "\n" : " ");
                }
                assertThat(end).isEqualTo(s.target().length());
                assertThat(k).isEqualTo(items.size());
                assertThat(s.answer()).isEqualTo(two(sum));
            }
        }
    }

    @Test
    void theListFillsTheContextAndEachItemIsUsedHundredsOfTokensAfterItIsGiven() {
        Sample s = task.generate(9, 1024);
        String text = s.prompt() + s.target();
        int items = 0;
        int closest = Integer.MAX_VALUE;
        Matcher item = ITEM.matcher(s.prompt());
        while (item.find()) {
            items++;
            int used = text.indexOf(item.group().strip() + ":");
            closest = Math.min(closest, used - item.start());
        }
        assertThat(items).isEqualTo((1024 - 2 - 16 - 6) / 19);
        assertThat(closest).isGreaterThan(400);
        assertThat(task.generate(9, 100_000).prompt()).contains(" a999=").doesNotContain("a1000");
    }

    private static String two(int value) {
        return (value < 10 ? "0" : "") + value;
    }

    private static String three(int value) {
        return "0".repeat(3 - Integer.toString(value).length()) + value;
    }
}
