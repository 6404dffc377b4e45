package dev.kvslim.train.optim;

/**
 * Learning rate per step (0-based): linear warmup from {@code lr/warmup} to {@code lr} over the first
 * {@code warmup} steps, then either constant or, from step {@code decayFrom} on (at the earliest the end of the
 * warmup), a half cosine down to {@code minLr} at {@code totalSteps}.
 */
public record LearningRateSchedule(Kind kind, float lr, int warmup, int totalSteps, float minLr, int decayFrom) {

    public enum Kind {
        CONSTANT,
        COSINE
    }

    public LearningRateSchedule {
        if (!(lr > 0) || warmup < 0 || totalSteps <= 0 || !(minLr >= 0) || minLr > lr || decayFrom < 0) {
            throw new IllegalArgumentException(
                    "learning-rate schedule needs lr > 0, warmup >= 0, steps > 0, 0 <= min_lr <= lr, decay from >= 0;"
                            + " got lr " + lr + ", warmup " + warmup + ", steps " + totalSteps + ", min_lr " + minLr
                            + ", decay from " + decayFrom);
        }
    }

    /** The cosine, where it is the kind, starts right after the warmup. */
    public LearningRateSchedule(Kind kind, float lr, int warmup, int totalSteps, float minLr) {
        this(kind, lr, warmup, totalSteps, minLr, warmup);
    }

    public float at(long step) {
        if (step < warmup) {
            return lr * (step + 1) / warmup;
        }
        int start = Math.max(warmup, decayFrom);
        if (kind == Kind.CONSTANT || step < start) {
            return lr;
        }
        double progress = Math.min(1.0, (double) (step - start) / Math.max(1, totalSteps - start));
        return (float) (minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * progress)));
    }
}
