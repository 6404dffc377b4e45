package dev.kvslim.core.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class SamplerTest {

    private static int[] histogram(SamplingParams p, float[] logits, int draws) {
        Sampler s = new Sampler(p, logits.length);
        int[] counts = new int[logits.length];
        for (int i = 0; i < draws; i++) {
            counts[s.sample(logits)]++;
        }
        return counts;
    }

    @Test
    void greedyTakesTheLowestIdOnTies() {
        assertThat(Sampler.argmax(new float[] {1f, 3f, 3f, 2f})).isEqualTo(1);
        assertThat(new Sampler(SamplingParams.GREEDY, 4).sample(new float[] {5f, 1f, 5f, 5f}))
                .isZero();
    }

    @Test
    void temperatureSamplingFollowsTheSoftmax() {
        float[] logits = {0f, (float) Math.log(2), (float) Math.log(3), (float) Math.log(4)};
        int[] c = histogram(new SamplingParams(1f, 0, 1f, 0f, 7), logits, 100_000);
        for (int i = 0; i < 4; i++) {
            assertThat(c[i] / 100_000.0).isCloseTo((i + 1) / 10.0, within(0.01));
        }
        // temperature 0.5 squares the odds: 1:4:9:16
        int[] hot = histogram(new SamplingParams(0.5f, 0, 1f, 0f, 7), logits, 100_000);
        assertThat(hot[3] / 100_000.0).isCloseTo(16 / 30.0, within(0.01));
    }

    @Test
    void topKTopPAndMinPCutTheTail() {
        float[] logits = {0f, (float) Math.log(2), (float) Math.log(3), (float) Math.log(4)};
        int[] k2 = histogram(new SamplingParams(1f, 2, 1f, 0f, 1), logits, 20_000);
        assertThat(k2[0] + k2[1]).isZero();
        assertThat(k2[3] / 20_000.0).isCloseTo(4 / 7.0, within(0.02));
        // top-p 0.5: 0.4 alone is not enough, 0.4 + 0.3 is
        int[] p5 = histogram(new SamplingParams(1f, 0, 0.5f, 0f, 1), logits, 20_000);
        assertThat(p5[0] + p5[1]).isZero();
        // min-p 0.6: keep tokens at least 0.6 x 0.4 = 0.24 likely
        int[] m6 = histogram(new SamplingParams(1f, 0, 1f, 0.6f, 1), logits, 20_000);
        assertThat(m6[0] + m6[1]).isZero();
        assertThat(m6[2]).isPositive();
        // top-k 1 is greedy
        assertThat(histogram(new SamplingParams(1f, 1, 1f, 0f, 1), logits, 100)[3])
                .isEqualTo(100);
    }

    @Test
    void aSeedReproducesTheDraws() {
        float[] logits = new float[50];
        for (int i = 0; i < 50; i++) {
            logits[i] = (float) Math.sin(i);
        }
        SamplingParams p = new SamplingParams(0.9f, 20, 0.95f, 0.01f, 99);
        Sampler a = new Sampler(p, 50), b = new Sampler(p, 50);
        for (int i = 0; i < 200; i++) {
            assertThat(a.sample(logits)).isEqualTo(b.sample(logits));
        }
    }

    @Test
    void invalidParametersAreNamed() {
        assertThatThrownBy(() -> new SamplingParams(-1f, 0, 1f, 0f, 0)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new SamplingParams(1f, 0, 0f, 0f, 0)).hasMessageContaining("top_p");
        assertThatThrownBy(() -> new SamplingParams(1f, -1, 1f, 0f, 0)).hasMessageContaining("top_k");
        assertThatThrownBy(() -> new SamplingParams(1f, 0, 1f, 2f, 0)).hasMessageContaining("min_p");
    }
}
