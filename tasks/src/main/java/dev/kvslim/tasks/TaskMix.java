package dev.kvslim.tasks;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * An endless, reproducible stream of samples from several tasks in chosen proportions, for training (or for
 * evaluation, with {@link Split#EVAL}). Each draw picks a task with probability proportional to its weight and a
 * sample seed of the split from the mix's own random stream, so two mixes with the same arguments give the same
 * samples, and TRAIN and EVAL streams never share a sample seed.
 */
public final class TaskMix {

    private final List<Task> tasks;
    private final double[] cumulative;
    private final int contextTokens;
    private final Split split;
    private final SplittableRandom random;

    /**
     * @param weights tasks and their relative weights (non-negative, finite, not all zero), in a fixed order
     */
    public TaskMix(SequencedMap<Task, Double> weights, int contextTokens, Split split, long seed) {
        this.tasks = new ArrayList<>(weights.sequencedKeySet());
        this.cumulative = new double[tasks.size()];
        double total = 0;
        int i = 0;
        for (var entry : weights.entrySet()) {
            double w = entry.getValue();
            if (!(w >= 0) || Double.isInfinite(w)) {
                throw new IllegalArgumentException("weight of task "
                        + entry.getKey().name() + " is " + w + "; weights must be finite and non-negative");
            }
            total += w;
            cumulative[i++] = total;
        }
        if (!(total > 0)) {
            throw new IllegalArgumentException("a task mix needs at least one task with a positive weight");
        }
        for (int k = 0; k < cumulative.length; k++) {
            cumulative[k] /= total;
        }
        this.contextTokens = contextTokens;
        this.split = split;
        this.random = new SplittableRandom(seed);
    }

    /** Equal weights for {@code tasks}. */
    public static TaskMix uniform(List<Task> tasks, int contextTokens, Split split, long seed) {
        var weights = new LinkedHashMap<Task, Double>();
        tasks.forEach(t -> weights.put(t, 1.0));
        return new TaskMix(weights, contextTokens, split, seed);
    }

    /** The next sample. */
    public Sample next() {
        double u = random.nextDouble();
        int k = 0;
        while (k < cumulative.length - 1 && u >= cumulative[k]) {
            k++;
        }
        return tasks.get(k).generate(split.seed(random.nextLong()), contextTokens);
    }

    /** The samples from here on, lazily. */
    public Stream<Sample> stream() {
        return Stream.generate(this::next);
    }
}
