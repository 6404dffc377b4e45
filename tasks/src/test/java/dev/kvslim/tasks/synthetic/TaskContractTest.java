package dev.kvslim.tasks.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.tasks.Sample;
import dev.kvslim.tasks.Split;
import dev.kvslim.tasks.Task;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What every task promises: determinism, exact context lengths, one-line ASCII targets, answer-only scoring. */
class TaskContractTest {

    static Stream<Task> tasks() {
        return TaskSuite.all().stream();
    }

    static Stream<Arguments> tasksAndContexts() {
        return tasks().flatMap(
                        t -> IntStream.of(256, 384, 512, 1000, 1024, 2048, 4096).mapToObj(c -> Arguments.of(t, c)));
    }

    @ParameterizedTest
    @MethodSource("tasks")
    void theSameSeedGivesTheSameSample(Task task) {
        for (long seed : new long[] {0, 1, 42, -7, Long.MAX_VALUE}) {
            assertThat(task.generate(seed, 1024)).isEqualTo(task.generate(seed, 1024));
        }
    }

    @ParameterizedTest
    @MethodSource("tasks")
    void differentSeedsGiveDifferentSamples(Task task) {
        Set<String> prompts = new HashSet<>();
        Set<String> targets = new HashSet<>();
        for (int n = 0; n < 200; n++) {
            Sample s = task.generate(Split.TRAIN.seed(n), 512);
            prompts.add(s.prompt());
            targets.add(s.target());
        }
        assertThat(prompts).hasSize(200);
        assertThat(targets.size()).isGreaterThan(190);
    }

    @ParameterizedTest
    @MethodSource("tasksAndContexts")
    void bosPromptTargetAndEosFillTheContextExactly(Task task, int context) {
        for (int n = 0; n < 30; n++) {
            Sample s = task.generate(Split.EVAL.seed(n), context);
            assertThat(1 + s.prompt().length() + s.target().length() + 1).isEqualTo(context);
            assertThat(s.prompt() + s.target()).matches("[\\x20-\\x7E\\n]*");
            assertThat(s.prompt()).endsWith("\n");
            assertThat(s.target()).endsWith("\n").containsOnlyOnce("\n");
            assertThat(s.task()).isEqualTo(task.name());
        }
    }

    @ParameterizedTest
    @MethodSource("tasks")
    void theTargetScoresAndEndsWithTheAnswer(Task task) {
        for (int n = 0; n < 100; n++) {
            Sample s = task.generate(n, 1024);
            assertThat(Task.finalAnswer(s.target())).isEqualTo(s.answer());
            assertThat(task.score(s, s.target())).isTrue();
            assertThat(task.score(s, s.target().strip()))
                    .as("stopped by EOS without a newline")
                    .isTrue();
            assertThat(task.score(s, s.target() + "12 more lines\n"))
                    .as("text after the line is ignored")
                    .isTrue();
        }
    }

    @ParameterizedTest
    @MethodSource("tasks")
    void anyDigitOfTheAnswerChangedScoresZero(Task task) {
        for (int n = 0; n < 50; n++) {
            Sample s = task.generate(n, 1024);
            String target = s.target();
            int answerStart = target.length() - 1 - s.answer().length();
            for (int i = answerStart; i < target.length() - 1; i++) {
                char wrong = (char) ('0' + (target.charAt(i) - '0' + 1 + n % 9) % 10);
                String corrupted = target.substring(0, i) + wrong + target.substring(i + 1);
                assertThat(task.score(s, corrupted)).as(corrupted).isFalse();
            }
            assertThat(task.score(s, target.substring(0, target.length() - 2) + "\n"))
                    .as("a digit short")
                    .isFalse();
            assertThat(task.score(s, "1" + s.answer())).as("a digit too many").isFalse();
            assertThat(task.score(s, s.answer() + "."))
                    .as("not ending in the answer")
                    .isFalse();
            assertThat(task.score(s, "")).isFalse();
        }
    }

    @ParameterizedTest
    @MethodSource("tasks")
    void onlyTheFinalAnswerIsScoredNotTheChainOfThought(Task task) {
        Sample s = task.generate(3, 1024);
        String target = s.target();
        int answerStart = target.length() - 1 - s.answer().length();
        int digit = IntStream.range(0, answerStart)
                .filter(i -> Character.isDigit(target.charAt(i)))
                .findFirst()
                .orElse(-1);
        if (digit >= 0) {
            String corrupted = target.substring(0, digit)
                    + (target.charAt(digit) == '0' ? '1' : '0')
                    + target.substring(digit + 1);
            assertThat(task.score(s, corrupted)).isTrue();
        }
    }

    @ParameterizedTest
    @MethodSource("tasks")
    void aContextTooShortIsRefusedNamingTheTask(Task task) {
        assertThatThrownBy(() -> task.generate(1, 40))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("40 tokens is too short for task " + task.name());
    }

    @ParameterizedTest
    @MethodSource("tasks")
    void suiteFindsTasksByName(Task task) {
        assertThat(TaskSuite.named(task.name())).isSameAs(task);
        assertThatThrownBy(() -> TaskSuite.named("needles"))
                .hasMessageContaining("needle, vartrack, arithmetic, runsum");
    }
}
