package dev.kvslim.tasks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.tasks.synthetic.TaskSuite;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TaskMixTest {

    private static final Task NEEDLE = TaskSuite.named("needle");
    private static final Task VARTRACK = TaskSuite.named("vartrack");
    private static final Task RUNSUM = TaskSuite.named("runsum");

    @Test
    void theSameSeedGivesTheSameStreamAndAnotherSeedAnother() {
        List<Sample> a = TaskMix.uniform(TaskSuite.all(), 256, Split.TRAIN, 7).stream()
                .limit(50)
                .toList();
        List<Sample> b = TaskMix.uniform(TaskSuite.all(), 256, Split.TRAIN, 7).stream()
                .limit(50)
                .toList();
        List<Sample> c = TaskMix.uniform(TaskSuite.all(), 256, Split.TRAIN, 8).stream()
                .limit(50)
                .toList();
        assertThat(a).isEqualTo(b);
        assertThat(a).doesNotContainAnyElementsOf(c);
    }

    @Test
    void tasksComeInProportionToTheirWeightsAndSeedsFromTheSplit() {
        LinkedHashMap<Task, Double> weights = new LinkedHashMap<>();
        weights.put(NEEDLE, 3.0);
        weights.put(RUNSUM, 0.0);
        weights.put(VARTRACK, 1.0);
        Map<String, Integer> counts = new HashMap<>();
        TaskMix mix = new TaskMix(weights, 256, Split.EVAL, 1);
        for (int i = 0; i < 4000; i++) {
            Sample s = mix.next();
            counts.merge(s.task(), 1, Integer::sum);
            assertThat(Split.of(s.seed())).isEqualTo(Split.EVAL);
            assertThat(s.byteLevelTokens()).isEqualTo(256);
        }
        assertThat(counts).doesNotContainKey("runsum");
        assertThat(counts.get("needle")).isBetween(2850, 3150);
        assertThat(counts.get("vartrack")).isBetween(850, 1150);
    }

    @Test
    void badWeightsAreRefused() {
        for (double bad : new double[] {-1, Double.NaN, Double.POSITIVE_INFINITY}) {
            LinkedHashMap<Task, Double> weights = new LinkedHashMap<>(Map.of(NEEDLE, 1.0));
            weights.put(RUNSUM, bad);
            assertThatThrownBy(() -> new TaskMix(weights, 256, Split.TRAIN, 0))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("weight of task runsum");
        }
        assertThatThrownBy(() -> new TaskMix(new LinkedHashMap<>(Map.of(NEEDLE, 0.0)), 256, Split.TRAIN, 0))
                .hasMessageContaining("at least one task with a positive weight");
    }
}
