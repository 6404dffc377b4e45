package dev.kvslim.train.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The schedule's values worked by hand. */
class LearningRateScheduleTest {

    @Test
    void warmupThenCosineFromTheEndOfTheWarmup() {
        var s = new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 1f, 4, 14, 0.2f);
        assertThat(s.at(0)).isEqualTo(0.25f);
        assertThat(s.at(3)).isEqualTo(1f);
        assertThat(s.at(4)).isEqualTo(1f); // progress 0
        assertThat(s.at(9)).isCloseTo(0.6f, within(1e-6f)); // progress 1/2: 0.2 + 0.4 * (1 + cos(pi/2))
        assertThat(s.at(14)).isCloseTo(0.2f, within(1e-6f));
        assertThat(s.at(20)).isCloseTo(0.2f, within(1e-6f));
    }

    @Test
    void aLateDecayHoldsTheRateUntilItsStep() {
        var s = new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 2f, 0, 100, 0f, 60);
        assertThat(s.at(0)).isEqualTo(2f);
        assertThat(s.at(60)).isEqualTo(2f);
        assertThat(s.at(70)).isCloseTo((float) (1 + Math.cos(Math.PI / 4)), within(1e-6f)); // progress 1/4
        assertThat(s.at(80)).isCloseTo(1f, within(1e-6f));
        assertThat(s.at(100)).isCloseTo(0f, within(1e-6f));
        // a constant schedule ignores it
        assertThat(new LearningRateSchedule(LearningRateSchedule.Kind.CONSTANT, 2f, 0, 100, 0f, 60).at(90))
                .isEqualTo(2f);
        assertThatThrownBy(() -> new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 2f, 0, 100, 0f, -1))
                .hasMessageContaining("decay from -1");
    }
}
