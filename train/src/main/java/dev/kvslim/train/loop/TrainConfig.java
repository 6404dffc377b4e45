package dev.kvslim.train.loop;

import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.train.optim.FreezePatterns;
import dev.kvslim.train.optim.LearningRateSchedule;
import java.nio.file.Path;

/**
 * Everything that fixes a training run: the model shape, batch ({@code B} rows of {@code T} positions, summed
 * over {@code accumulation} micro-batches per step), the number of steps, the optimiser (AdamW betas, eps,
 * weight decay, learning-rate schedule, gradient clipping by global norm; 0 for none), which parameters train,
 * the seed (initialisation, data order, any noise), and checkpoints ({@code checkpointEvery} steps into
 * {@code outDir}; 0 for only at the end). {@code tokenizer} holds tokenizer files to copy into saved models
 * (null for none).
 */
public record TrainConfig(
        LlamaConfig model,
        int batch,
        int seq,
        int steps,
        int accumulation,
        LearningRateSchedule lr,
        float beta1,
        float beta2,
        float eps,
        float weightDecay,
        float clip,
        FreezePatterns freeze,
        long seed,
        Path outDir,
        int checkpointEvery,
        Path tokenizer) {

    public TrainConfig {
        require(batch > 0, "batch must be positive, got " + batch);
        require(seq > 0, "seq (T) must be positive, got " + seq);
        require(seq <= model.contextLength(), "seq " + seq + " exceeds the model context " + model.contextLength());
        require(steps > 0, "steps must be positive, got " + steps);
        require(accumulation > 0, "accumulation must be positive, got " + accumulation);
        require(clip >= 0, "clip must be >= 0 (0: none), got " + clip);
        require(checkpointEvery >= 0, "checkpoint_every must be >= 0, got " + checkpointEvery);
        require(outDir != null, "an output folder is required");
    }

    /** Defaults for everything but shape, data and steps: AdamW (0.9, 0.95, 1e-8), wd 0.1, clip 1, no freezing. */
    public static TrainConfig of(
            LlamaConfig model, int batch, int seq, int steps, LearningRateSchedule lr, long seed, Path outDir) {
        return new TrainConfig(
                model,
                batch,
                seq,
                steps,
                1,
                lr,
                0.9f,
                0.95f,
                1e-8f,
                0.1f,
                1f,
                FreezePatterns.NONE,
                seed,
                outDir,
                0,
                null);
    }

    public TrainConfig withCheckpointEvery(int every) {
        return new TrainConfig(
                model,
                batch,
                seq,
                steps,
                accumulation,
                lr,
                beta1,
                beta2,
                eps,
                weightDecay,
                clip,
                freeze,
                seed,
                outDir,
                every,
                tokenizer);
    }

    public TrainConfig withSteps(int n) {
        return new TrainConfig(
                model,
                batch,
                seq,
                n,
                accumulation,
                lr,
                beta1,
                beta2,
                eps,
                weightDecay,
                clip,
                freeze,
                seed,
                outDir,
                checkpointEvery,
                tokenizer);
    }

    public TrainConfig withAccumulation(int n) {
        return new TrainConfig(
                model,
                batch,
                seq,
                steps,
                n,
                lr,
                beta1,
                beta2,
                eps,
                weightDecay,
                clip,
                freeze,
                seed,
                outDir,
                checkpointEvery,
                tokenizer);
    }

    public TrainConfig withFreeze(FreezePatterns f) {
        return new TrainConfig(
                model,
                batch,
                seq,
                steps,
                accumulation,
                lr,
                beta1,
                beta2,
                eps,
                weightDecay,
                clip,
                f,
                seed,
                outDir,
                checkpointEvery,
                tokenizer);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
