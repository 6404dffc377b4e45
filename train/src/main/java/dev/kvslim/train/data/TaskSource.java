package dev.kvslim.train.data;

import dev.kvslim.core.tokenizer.Tokenizer;
import dev.kvslim.tasks.Sample;
import dev.kvslim.tasks.Split;
import dev.kvslim.tasks.Task;
import dev.kvslim.tasks.TrainingSequence;
import dev.kvslim.train.random.Rng;
import java.util.List;

/**
 * Training rows drawn from the task suite: every row is made of whole samples (BOS, prompt, target, EOS) whose lengths
 * add up to exactly {@code T+1} tokens, so rows need no padding and no sample is cut. With {@code minContext} below
 * {@code T+1}, a row packs samples of lengths drawn log-uniformly from {@code [minContext, T+1]} (the last one takes
 * what is left): short samples, with few distractors, are where a small model first learns to find and copy a record,
 * and the long ones teach it to do so across the whole context. Samples follow each other without an attention mask,
 * as in the DMS recipe's packed training; each starts with BOS. Row number {@code i} of a run depends only on
 * (seed, i): the lengths and tasks are drawn by weight from a generator seeded by both, the sample seeds come from
 * {@link Split#TRAIN}, so held-out evaluation seeds are never trained on, and the source's whole state is the count
 * of rows served.
 *
 * <p>The loss mask weights the target (the completion the model must write, and EOS) by 1 and the prompt by
 * {@code promptWeight}: 0 trains on targets only, 1 is plain language modelling over the whole row; the two positions
 * where a target ends (its terminator and EOS) may weigh more ({@code endShare}).
 */
public final class TaskSource implements TokenSource {

    private final List<Task> tasks;
    private final double[] cumulative;
    private final Tokenizer tokenizer;
    private final long seed;
    private final float promptWeight;
    private final float endShare;
    private final int minContext;
    private long served;
    /** The row length whose shortest samples every task was last checked to fit. */
    private int checkedRow = -1;

    /** One whole sample per row. */
    public TaskSource(List<Task> tasks, double[] weights, Tokenizer tokenizer, long seed, float promptWeight) {
        this(tasks, weights, tokenizer, seed, promptWeight, Integer.MAX_VALUE);
    }

    /**
     * Rows packed with samples of at least {@code minContext} tokens ({@code Integer.MAX_VALUE}: one sample per
     * row).
     */
    public TaskSource(
            List<Task> tasks, double[] weights, Tokenizer tokenizer, long seed, float promptWeight, int minContext) {
        this(tasks, weights, tokenizer, seed, promptWeight, minContext, 0f);
    }

    /**
     * As above, with the two positions that predict where each sample's answer stops (the target's terminator and
     * EOS) weighted {@code max(1, endShare * n)} for an answer of {@code n} tokens instead of 1: each carries about that
     * share of its answer's loss, whether the answer is a 10-token record or a 2,000-token trace.
     */
    public TaskSource(
            List<Task> tasks,
            double[] weights,
            Tokenizer tokenizer,
            long seed,
            float promptWeight,
            int minContext,
            float endShare) {
        if (tasks.isEmpty() || tasks.size() != weights.length) {
            throw new IllegalArgumentException("a task source needs one weight per task, got " + tasks.size()
                    + " tasks and " + weights.length + " weights");
        }
        if (!(promptWeight >= 0f && promptWeight <= 1f)) {
            throw new IllegalArgumentException("prompt weight must lie in [0, 1], is " + promptWeight);
        }
        if (!(endShare >= 0f && endShare < 1f)) {
            throw new IllegalArgumentException("end share must lie in [0, 1), is " + endShare);
        }
        this.tasks = List.copyOf(tasks);
        this.cumulative = new double[weights.length];
        double total = 0;
        for (int i = 0; i < weights.length; i++) {
            if (!(weights[i] >= 0) || Double.isInfinite(weights[i])) {
                throw new IllegalArgumentException(
                        "weight of task " + tasks.get(i).name() + " is " + weights[i]);
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
        this.minContext = minContext;
        this.endShare = endShare;
    }

    /** The samples that make up row number {@code index} of this run, for rows {@code rowTokens} long. */
    public List<Sample> row(long index, int rowTokens) {
        Rng rng = new Rng(seed ^ index * 0xD1B54A32D192ED03L);
        List<Sample> samples = new java.util.ArrayList<>();
        int left = rowTokens;
        while (left > 0) {
            int length = left;
            if (left >= 2 * minContext) {
                double logMin = Math.log(minContext), logMax = Math.log(left);
                length = (int) Math.exp(logMin + rng.nextDouble() * (logMax - logMin));
                if (left - length < minContext) {
                    length = left;
                }
            }
            samples.add(draw(rng).generate(Split.TRAIN.seed(rng.nextLong() >>> 1), length));
            left -= length;
        }
        return samples;
    }

    /** The first sample of row {@code index}: with one sample per row, the whole row. */
    public Sample sample(long index, int rowTokens) {
        return row(index, rowTokens).getFirst();
    }

    private Task draw(Rng rng) {
        double u = rng.nextDouble() * cumulative[cumulative.length - 1];
        int k = 0;
        while (k < cumulative.length - 1 && u >= cumulative[k]) {
            k++;
        }
        return tasks.get(k);
    }

    /**
     * Fails before training starts, rather than at some step, when a task cannot always write a sample of
     * {@code tokens} tokens: each task's longest samples (most records, longest trace) need a fixed minimum, so a
     * few hundred seeds of each are tried at that length.
     */
    private void requireFits(int tokens) {
        for (Task task : tasks) {
            for (int n = 0; n < 256; n++) {
                try {
                    task.generate(Split.TRAIN.seed(n), tokens);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(
                            "samples of " + tokens + " tokens (the shortest "
                                    + (minContext < Integer.MAX_VALUE ? "min_context" : "row, seq + 1")
                                    + ") are too short: "
                                    + e.getMessage(),
                            e);
                }
            }
        }
    }

    @Override
    public void next(Batch batch) {
        int row = batch.t + 1;
        if (row != checkedRow) {
            requireFits(Math.min(minContext, row));
            checkedRow = row;
        }
        for (int r = 0; r < batch.b; r++) {
            int at = 0;
            boolean[] target = new boolean[row];
            float[] end = new float[row];
            for (Sample sample : row(served++, row)) {
                TrainingSequence s = TrainingSequence.of(sample, tokenizer);
                if (at + s.length() > row) {
                    throw new IllegalStateException(
                            "task " + sample.task() + " overfilled a row of " + row + " tokens");
                }
                System.arraycopy(s.tokens(), 0, batch.tokens, r * row + at, s.length());
                System.arraycopy(s.target(), 0, target, at, s.length());
                end[at + s.length() - 2] =
                        end[at + s.length() - 1] = Math.max(1f, endShare * (s.length() - s.targetStart()));
                at += s.length();
            }
            if (at != row) {
                throw new IllegalStateException("task samples filled " + at + " of a row's " + row + " tokens");
            }
            for (int t = 0; t < batch.t; t++) {
                batch.mask[r * batch.t + t] = target[t + 1] ? Math.max(1f, end[t + 1]) : promptWeight;
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
            throw new IllegalArgumentException(
                    "task source state is one non-negative count, got " + java.util.Arrays.toString(state));
        }
        served = state[0];
    }
}
