package dev.kvslim.tasks.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.tasks.Sample;
import dev.kvslim.tasks.Split;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The running-totals warm-up: exact length, and every total recomputed here from the values written before it. */
class TallyTaskTest {

    private static final Pattern RUNNING = Pattern.compile("a(\\d{3})=(\\d\\d):(\\d\\d)");
    private static final Pattern FIRST = Pattern.compile("^([A-Z]{2})=(\\d\\d)$");
    private static final Pattern STEP = Pattern.compile("^([A-Z]{2})([+-])([A-Z]{2})=(\\d\\d):(\\d\\d)$");
    private final TallyTask task = new TallyTask();

    @ParameterizedTest
    @ValueSource(ints = {49, 50, 100, 300, 1024})
    void everyTotalIsRightAndTheSampleFillsTheContextExactly(int context) {
        for (int n = 0; n < 50; n++) {
            Sample s = task.generate(Split.TRAIN.seed(n), context);
            assertThat(s.byteLevelTokens()).isEqualTo(context);
            String text = s.prompt() + s.target();
            String[] lines = text.substring(text.indexOf('\n') + 1).split("\n");
            int checked = 0;
            for (String line : lines) {
                checked += check(line);
            }
            assertThat(checked).isPositive();
            assertThat(s.target()).endsWith(s.answer() + "\n");
        }
    }

    /** Recomputes one line's totals; returns how many steps it checked. */
    private static int check(String line) {
        String[] steps = line.split(" ");
        if (steps[0].startsWith("a")) {
            int sum = 0;
            for (int i = 0; i < steps.length; i++) {
                Matcher m = RUNNING.matcher(steps[i]);
                assertThat(m.matches()).as(line).isTrue();
                assertThat(Integer.parseInt(m.group(1))).isEqualTo(i + 1);
                sum = (sum + Integer.parseInt(m.group(2))) % 100;
                assertThat(Integer.parseInt(m.group(3))).as(line).isEqualTo(sum);
            }
            return steps.length;
        }
        Matcher first = FIRST.matcher(steps[0]);
        assertThat(first.matches()).as(line).isTrue();
        String previous = first.group(1);
        int total = Integer.parseInt(first.group(2));
        for (int i = 1; i < steps.length; i++) {
            Matcher m = STEP.matcher(steps[i]);
            assertThat(m.matches()).as(line).isTrue();
            assertThat(m.group(1)).isEqualTo(previous);
            int value = Integer.parseInt(m.group(4));
            total = Math.floorMod(m.group(2).equals("+") ? total + value : total - value, 100);
            assertThat(Integer.parseInt(m.group(5))).as(line).isEqualTo(total);
            previous = m.group(3);
        }
        return steps.length;
    }

    @Test
    void aHandWorkedLine() {
        // 14 + 26 = 40, 40 + 95 = 135 -> 35; 49 + 86 = 135 -> 35, 35 - 84 = -49 -> 51
        assertThat(check("a001=14:14 a002=26:40 a003=95:35")).isEqualTo(3);
        assertThat(check("HF=49 HF+AK=86:35 AK-IM=84:51")).isEqualTo(3);
        assertThatThrownBy(() -> check("a001=14:14 a002=26:41")).isInstanceOf(AssertionError.class);
    }

    @Test
    void tooShortAContextIsRefusedByName() {
        assertThatThrownBy(() -> task.generate(1, 48)).hasMessageContaining("too short for task tally");
        assertThat(TaskSuite.named("tally")).isInstanceOf(TallyTask.class);
        assertThat(TaskSuite.all()).extracting(t -> t.name()).doesNotContain("tally");
    }
}
