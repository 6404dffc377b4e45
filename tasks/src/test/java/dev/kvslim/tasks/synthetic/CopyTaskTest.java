package dev.kvslim.tasks.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.tasks.Sample;
import dev.kvslim.tasks.Split;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CopyTaskTest {

    private final CopyTask task = new CopyTask();

    @ParameterizedTest
    @ValueSource(ints = {26, 27, 40, 72, 73, 256, 1024, 1027})
    void theLineAppearsTwiceAndFillsTheContextExactly(int context) {
        Sample s = task.generate(Split.EVAL.seed(5), context);
        assertThat(s.byteLevelTokens()).isEqualTo(context);
        assertThat(s.target()).isEqualTo(s.answer() + "\n");
        assertThat(s.prompt()).endsWith("\n" + s.answer() + "|");
        assertThat(s.answer()).matches("[A-Z0-9]{2,4}( [A-Z0-9]{2,4}){0,7}");
        // every earlier line is written twice
        String[] lines = s.prompt().split("\n");
        for (int i = 1; i < lines.length - 1; i++) {
            String[] halves = lines[i].split("\\|");
            assertThat(halves).hasSize(2);
            assertThat(halves[1]).isEqualTo(halves[0]);
        }
    }

    @Test
    void linesDifferInLengthSoTheCopyIsFoundByContentNotByDistance() {
        java.util.Set<Integer> lengths = new java.util.HashSet<>();
        for (int i = 0; i < 20; i++) {
            lengths.add(task.generate(Split.TRAIN.seed(i), 300).answer().length());
        }
        assertThat(lengths).hasSizeGreaterThan(5);
        assertThatThrownBy(() -> task.generate(Split.TRAIN.seed(1), 25))
                .hasMessageContaining("too short for task copy");
    }

    @Test
    void onlyTheExactLineScores() {
        Sample s = task.generate(Split.TRAIN.seed(9), 200);
        assertThat(task.score(s, s.target())).isTrue();
        assertThat(task.score(s, s.answer())).isTrue();
        String wrong = (s.answer().charAt(0) == 'A' ? "B" : "A") + s.answer().substring(1);
        assertThat(task.score(s, wrong + "\n")).isFalse();
        assertThat(task.score(s, s.answer() + " X\n")).isFalse();
    }

    @Test
    void isNamedButNotOneOfTheFourJudgedTasks() {
        assertThat(TaskSuite.named("copy")).isInstanceOf(CopyTask.class);
        assertThat(TaskSuite.all()).extracting(t -> t.name()).doesNotContain("copy");
    }
}
