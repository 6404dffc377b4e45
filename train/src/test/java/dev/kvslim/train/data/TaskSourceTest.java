package dev.kvslim.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.tasks.Split;
import dev.kvslim.tasks.synthetic.TaskSuite;
import dev.kvslim.tasks.tokenizer.DemoTokenizer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TaskSourceTest {

    private static TaskSource source(double... weights) {
        return new TaskSource(TaskSuite.all(), weights, DemoTokenizer.tokenizer(), 7, 0.25f);
    }

    @Test
    void rowsAreWholeSamplesWithTargetWeightedMask() {
        TaskSource src = source(1, 1, 1, 1);
        Batch batch = new Batch(3, 255);
        src.next(batch);
        for (int r = 0; r < 3; r++) {
            var sample = src.sample(r, 256);
            String row = DemoTokenizer.tokenizer().decode(Arrays.copyOfRange(batch.tokens, r * 256 + 1, r * 256 + 255));
            assertThat(row).isEqualTo(sample.prompt() + sample.target());
            assertThat(batch.tokens[r * 256]).isEqualTo(DemoTokenizer.BOS_ID);
            assertThat(batch.tokens[r * 256 + 255]).isEqualTo(DemoTokenizer.EOS_ID);
            int targetStart = 1 + sample.prompt().length();
            for (int t = 0; t < 255; t++) {
                // position t predicts token t+1: weight 1 from the first target token on, the prompt weight before
                assertThat(batch.mask[r * 255 + t]).isEqualTo(t + 1 >= targetStart ? 1f : 0.25f);
            }
            assertThat(Split.of(sample.seed())).isEqualTo(Split.TRAIN);
        }
    }

    @Test
    void stateIsTheRowCountSoRestoringReplaysTheSameRows() {
        TaskSource a = source(1, 1, 1, 1);
        Batch first = new Batch(2, 200), second = new Batch(2, 200), replay = new Batch(2, 200);
        a.next(first);
        long[] state = a.state();
        a.next(second);
        TaskSource b = source(1, 1, 1, 1);
        b.restore(state);
        b.next(replay);
        assertThat(replay.tokens).isEqualTo(second.tokens).isNotEqualTo(first.tokens);
        assertThat(replay.mask).isEqualTo(second.mask);
    }

    @Test
    void weightsChooseTheTasks() {
        TaskSource src = source(0, 3, 0, 1);
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 400; i++) {
            counts.merge(src.sample(i, 300).task(), 1, Integer::sum);
        }
        assertThat(counts).containsOnlyKeys("vartrack", "runsum");
        assertThat(counts.get("vartrack")).isBetween(260, 340);
    }

    @Test
    void badWeightsAreNamed() {
        assertThatThrownBy(() -> source(1, 1)).hasMessageContaining("one weight per task");
        assertThatThrownBy(() -> source(0, 0, 0, 0)).hasMessageContaining("must not all be zero");
        assertThatThrownBy(() -> source(1, -1, 1, 1)).hasMessageContaining("vartrack");
    }

    @Test
    void aMinimumContextTooShortForSomeSamplesFailsAtTheFirstBatchNamingTheTask() {
        // arithmetic's longest samples (six operands) need 153 tokens; one in four samples has six
        TaskSource tooShort =
                new TaskSource(TaskSuite.all(), new double[] {1, 1, 1, 1}, DemoTokenizer.tokenizer(), 3, 0f, 150);
        assertThatThrownBy(() -> tooShort.next(new Batch(1, 299)))
                .hasMessageContaining("samples of 150 tokens")
                .hasMessageContaining("min_context")
                .hasMessageContaining("task arithmetic");
        TaskSource oneSamplePerRow = source(1, 1, 1, 1);
        assertThatThrownBy(() -> oneSamplePerRow.next(new Batch(1, 120)))
                .hasMessageContaining("samples of 121 tokens")
                .hasMessageContaining("seq + 1");
        new TaskSource(TaskSuite.all(), new double[] {1, 1, 1, 1}, DemoTokenizer.tokenizer(), 3, 0f, 153)
                .next(new Batch(1, 299));
    }

    @Test
    void packedRowsHoldWholeSamplesOfMixedLengths() {
        TaskSource src =
                new TaskSource(TaskSuite.all(), new double[] {1, 1, 1, 1}, DemoTokenizer.tokenizer(), 3, 0f, 160);
        Batch batch = new Batch(6, 1023);
        src.next(batch);
        java.util.Set<Integer> lengths = new java.util.TreeSet<>();
        for (int r = 0; r < 6; r++) {
            var samples = src.row(r, 1024);
            int at = 0;
            for (var sample : samples) {
                int length = 2 + sample.prompt().length() + sample.target().length();
                assertThat(length).isBetween(160, 1024);
                assertThat(batch.tokens[r * 1024 + at]).isEqualTo(DemoTokenizer.BOS_ID);
                assertThat(batch.tokens[r * 1024 + at + length - 1]).isEqualTo(DemoTokenizer.EOS_ID);
                int targetStart = at + 1 + sample.prompt().length();
                // the first target token is learned (weight 1), the prompt token before it is not (weight 0)
                assertThat(batch.mask[r * 1023 + targetStart - 1]).isEqualTo(1f);
                assertThat(batch.mask[r * 1023 + targetStart - 2]).isEqualTo(0f);
                lengths.add(length);
                at += length;
            }
            assertThat(at).isEqualTo(1024);
        }
        assertThat(lengths.size()).isGreaterThan(6);
    }

    @Test
    void theEndOfEachAnswerWeighsItsShareOfTheAnswer() {
        TaskSource src =
                new TaskSource(TaskSuite.all(), new double[] {1, 1, 1, 1}, DemoTokenizer.tokenizer(), 3, 0f, 160, 0.1f);
        Batch batch = new Batch(2, 1023);
        src.next(batch);
        boolean raised = false;
        for (int r = 0; r < 2; r++) {
            int at = 0;
            for (var sample : src.row(r, 1024)) {
                int length = 2 + sample.prompt().length() + sample.target().length();
                int targetStart = at + 1 + sample.prompt().length();
                int answer = sample.target().length() + 1; // and EOS
                // positions predicting the terminator (length - 2) and EOS (length - 1) weigh max(1, 0.1 * answer)
                float end = Math.max(1f, 0.1f * answer);
                raised |= end > 1;
                for (int t = targetStart - 1; t < at + length - 1; t++) {
                    float want = t + 1 >= at + length - 2 ? end : 1f;
                    assertThat(batch.mask[r * 1023 + t])
                            .as("sample at %d, position %d", at, t)
                            .isEqualTo(want);
                }
                assertThat(batch.tokens[r * 1024 + at + length - 2]).isEqualTo((int) '\n');
                at += length;
            }
        }
        assertThat(raised).as("some answer is over 10 tokens long").isTrue();
        assertThatThrownBy(() -> new TaskSource(
                        TaskSuite.all(), new double[] {1, 1, 1, 1}, DemoTokenizer.tokenizer(), 3, 0f, 160, 1f))
                .hasMessage("end share must lie in [0, 1), is 1.0");
    }
}
