package dev.kvslim.tasks.synthetic;

import dev.kvslim.tasks.Sample;
import dev.kvslim.tasks.Task;
import java.util.SplittableRandom;

/** What the generated tasks share: a name, a per-task random stream per seed, and the context-length budget. */
abstract class SyntheticTask implements Task {

    /** BOS and EOS, which every training sequence spends on top of prompt and target. */
    static final int SPECIAL_TOKENS = 2;

    private final String name;

    SyntheticTask(String name) {
        this.name = name;
    }

    @Override
    public final String name() {
        return name;
    }

    /** The random stream of {@code seed}, salted with the task's name so tasks sharing a seed are unrelated. */
    final SplittableRandom random(long seed) {
        return new SplittableRandom(seed ^ name.hashCode() * 0x9E3779B97F4A7C15L);
    }

    /**
     * The characters left for filler when {@code fixedChars} characters of prompt and target are fixed.
     *
     * @throws IllegalArgumentException naming the task when the context cannot hold them
     */
    final int fillerChars(int contextTokens, int fixedChars) {
        int left = contextTokens - SPECIAL_TOKENS - fixedChars;
        if (left < 0) {
            throw new IllegalArgumentException("a context of " + contextTokens + " tokens is too short for task " + name
                    + ": this sample needs " + (contextTokens - left) + " tokens without any filler");
        }
        return left;
    }

    @Override
    public String toString() {
        return name;
    }

    /** A sample of this task, checked to fill the context exactly. */
    final Sample sample(long seed, int contextTokens, String prompt, String target, String answer) {
        Sample sample = new Sample(name, seed, prompt, target, answer);
        if (sample.byteLevelTokens() != contextTokens) {
            throw new IllegalStateException(
                    name + " made " + sample.byteLevelTokens() + " tokens for a context of " + contextTokens);
        }
        return sample;
    }
}
