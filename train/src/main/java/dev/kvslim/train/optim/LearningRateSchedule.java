package dev.kvslim.train.optim;

/**
 * Learning rate per step (0-based): linear warmup from {@code lr/warmup} to {@code lr} over the first
 * {@code warmup} steps, then either constant or a half cosine down to {@code minLr} at {@code totalSteps}.
 */
public record LearningRateSchedule(Kind kind, float lr, int warmup, int totalSteps, float minLr) {

    public enum Kind {
        CONSTANT,
        COSINE
    }

    public LearningRateSchedule {
        if (!(lr > 0) || warmup < 0 || totalSteps <= 0 || !(minLr >= 0) || minLr > lr) {
            throw new IllegalArgumentException(
                    "learning-rate schedule needs lr > 0, warmup >= 0, steps > 0, 0 <= min_lr <= lr;" + " got lr " + lr
                            + ", warmup " + warmup + ", steps " + totalSteps + ", min_lr " + minLr);
        }
    }

    public float at(long step) {
        if (step < warmup) {
            return lr * (step + 1) / warmup;
        }
        if (kind == Kind.CONSTANT) {
            return lr;
        }
        double progress = Math.min(1.0, (double) (step - warmup) / Math.max(1, totalSteps - warmup));
        return (float) (minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * progress)));
    }
}
