package dev.kvslim.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.tasks.synthetic.TaskSuite;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SplitTest {

    @Test
    void trainAndEvalSeedsNeverMeet() {
        SplittableRandom random = new SplittableRandom(5);
        Set<Long> train = new HashSet<>();
        Set<Long> eval = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            long n = i < 5_000 ? i : random.nextLong();
            train.add(Split.TRAIN.seed(n));
            eval.add(Split.EVAL.seed(n));
            assertThat(Split.of(Split.TRAIN.seed(n))).isEqualTo(Split.TRAIN);
            assertThat(Split.of(Split.EVAL.seed(n))).isEqualTo(Split.EVAL);
        }
        assertThat(train).hasSize(10_000).doesNotContainAnyElementsOf(eval);
        assertThat(eval).hasSize(10_000);
    }

    @Test
    void theFirstEvalSamplesAreNoneOfTheFirstTrainingSamples() {
        for (Task task : TaskSuite.all()) {
            Set<String> train = new HashSet<>();
            for (int n = 0; n < 300; n++) {
                train.add(task.generate(Split.TRAIN.seed(n), 256).prompt());
            }
            for (int n = 0; n < 300; n++) {
                assertThat(train)
                        .as(task.name())
                        .doesNotContain(task.generate(Split.EVAL.seed(n), 256).prompt());
            }
        }
    }

    @Test
    void renderedSamplesShowPromptTargetAndAnswer() {
        Task task = TaskSuite.named("needle");
        Sample first = task.generate(Split.EVAL.seed(0), 256);
        String text = SampleText.render(task, Split.EVAL, 2, 256);
        assertThat(text)
                .startsWith("==== needle seed 1, 256 tokens, answer " + first.answer() + "\n" + first.prompt()
                        + "---- target\n" + first.target() + "==== needle seed 3,");
    }
}
