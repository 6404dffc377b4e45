package dev.kvslim.train.data;

import dev.kvslim.core.tokenizer.Tokenizer;
import dev.kvslim.tasks.Sample;
import dev.kvslim.tasks.Split;
import dev.kvslim.tasks.Task;
import dev.kvslim.tasks.TrainingSequence;
import dev.kvslim.train.random.Rng;
import java.util.List;

/**
 * Training rows drawn from the task suite: every row is one whole sample (BOS, prompt, target, EOS) of exactly
 * {@code T+1} tokens, so rows need no padding and no sample is cut. Sample number {@code i} of a run depends only on
 * (seed, i): the task is drawn by weight and the sample seed comes from {@link Split#TRAIN}, so held-out evaluation
 * seeds are never trained on, and the source's whole state is the count of rows served.
 *
 * <p>The loss mask weights the target (the completion the model must write, and EOS) by 1 and the prompt by
 * {@code promptWeight}: 0 trains on targets only, 1 is plain language modelling over the whole row.
 */
public final class TaskSource implements TokenSource {

    private final List<Task> tasks;
    private final double[] cumulative;
    private final Tokenizer tokenizer;
    private final long seed;
    private final float promptWeight;
    private long served;

    public TaskSource(List<Task> tasks, double[] weights, Tokenizer tokenizer, long seed, float promptWeight) {
        if (tasks.isEmpty() || tasks.size() != weights.length) {
            throw new IllegalArgumentException("a task source needs one weight per task, got " + tasks.size()
                    + " tasks and " + weights.length + " weights");
        }
        if (!(promptWeight >= 0f && promptWeight <= 1f)) {
            throw new IllegalArgumentException("prompt weight must lie in [0, 1], is " + promptWeight);
        }
        this.tasks = List.copyOf(tasks);
        this.cumulative = new double[weights.length];
        double total = 0;
        for (int i = 0; i < weights.length; i++) {
            if (!(weights[i] >= 0) || Double.isInfinite(weights[i])) {
                throw new IllegalArgumentException("weight of task " + tasks.get(i).name() + " is " + weights[i]);
            }
            total += weights[i];
            cumulative[i] = total;
        }
        if (!(total > 0)) {
            throw new IllegalArgumentException("task weights must not all be zero");
        }
        this.tokenizer = tokenizer;
        this.seed = seed;
        this.promptWeight = promptWeight;
    }

    /** The sample behind row number {@code index} of this run, for rows {@code contextTokens} long. */
    public Sample sample(long index, int contextTokens) {
        Rng rng = new Rng(seed ^ index * 0xD1B54A32D192ED03L);
        double u = rng.nextDouble() * cumulative[cumulative.length - 1];
        int k = 0;
        while (k < cumulative.length - 1 && u >= cumulative[k]) {
            k++;
        }
        return tasks.get(k).generate(Split.TRAIN.seed(rng.nextLong() >>> 1), contextTokens);
    }

    @Override
    public void next(Batch batch) {
        int row = batch.t + 1;
        for (int r = 0; r < batch.b; r++) {
            TrainingSequence s = TrainingSequence.of(sample(served++, row), tokenizer);
            if (s.length() != row) {
                throw new IllegalStateException("task " + tasks + " gave a row of " + s.length() + " tokens, not " + row);
            }
            System.arraycopy(s.tokens(), 0, batch.tokens, r * row, row);
            boolean[] target = s.target();
            for (int t = 0; t < batch.t; t++) {
                batch.mask[r * batch.t + t] = target[t + 1] ? 1f : promptWeight;
            }
        }
        batch.setHasMask(true);
    }

    @Override
    public long[] state() {
        return new long[] {served};
    }

    @Override
    public void restore(long[] state) {
        if (state.length != 1 || state[0] < 0) {
            throw new IllegalArgumentException("task source state is one non-negative count, got "
                    + java.util.Arrays.toString(state));
        }
        served = state[0];
    }
}
