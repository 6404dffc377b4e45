package dev.kvslim.train.dms;

/**
 * The compression target of the retrofit (spec 3.4, the paper's form): {@code cr(s) = min(target, 1 + s / stepsPerCr)}
 * at optimiser step {@code s} (0-based), and the fraction of decisions that should be "evict",
 * {@code 1 - 1 / cr(s)}. Step 0 asks for nothing; the target is reached at step {@code stepsPerCr * (target - 1)},
 * after which it holds.
 */
public record DmsSchedule(double stepsPerCr, double targetCr) {

    public DmsSchedule {
        if (!(stepsPerCr > 0) || Double.isInfinite(stepsPerCr)) {
            throw new IllegalArgumentException("steps per unit of compression ratio must be > 0, got " + stepsPerCr);
        }
        if (!(targetCr >= 1) || Double.isInfinite(targetCr)) {
            throw new IllegalArgumentException("the target compression ratio must be >= 1, got " + targetCr);
        }
    }

    public double cr(long step) {
        return Math.min(targetCr, 1 + step / stepsPerCr);
    }

    public double targetFraction(long step) {
        return 1 - 1 / cr(step);
    }

    /** The first step whose scheduled ratio is at least {@code cr}. */
    public int firstStepAt(double cr) {
        return (int) Math.ceil((cr - 1) * stepsPerCr - 1e-9);
    }

    /** Steps to reach the target plus a hold of {@code holdFraction} of that (at least one step in all). */
    public int defaultSteps(double holdFraction) {
        double ramp = stepsPerCr * (targetCr - 1);
        return Math.max(1, (int) Math.ceil(ramp + holdFraction * ramp));
    }
}
