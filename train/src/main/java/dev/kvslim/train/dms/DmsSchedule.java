package dev.kvslim.train.dms;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The compression target of the retrofit (spec 3.4, the paper's form): {@code cr(s) = min(target, 1 + s / stepsPerCr)}
 * at optimiser step {@code s} (0-based), and the fraction of decisions that should be "evict",
 * {@code 1 - 1 / cr(s)}. Step 0 asks for nothing; without holds the target is reached at step
 * {@code stepsPerCr * (target - 1)}, after which it holds.
 *
 * <p>Optional {@linkplain Hold holds} pause the ramp at intermediate ratios: a hold of {@code n} steps at ratio
 * {@code h} keeps the target at {@code h} for {@code n} steps more than the ramp alone would, and every later part of
 * the ramp comes {@code n} steps later. The paper's schedule has none; a hold lets the student settle at a ratio whose
 * model is kept on the way (the CR 4 model of a CR 8 run), at the price of steps.
 */
public record DmsSchedule(double stepsPerCr, double targetCr, List<Hold> holds) {

    /** Keep the target at {@code cr} for {@code steps} extra steps ({@code 1 < cr < target}). */
    public record Hold(double cr, int steps) {
        public Hold {
            if (!(cr > 1) || Double.isInfinite(cr)) {
                throw new IllegalArgumentException("a hold's compression ratio must be > 1, got " + cr);
            }
            if (steps < 0) {
                throw new IllegalArgumentException("a hold's step count must be >= 0, got " + steps);
            }
        }

        /** {@code CR:STEPS}, as {@link #parse} reads it: {@code 4:150}, {@code 4.5:20}. */
        @Override
        public String toString() {
            return Retrofit.format(cr) + ":" + steps;
        }

        /** Parses {@code CR:STEPS}, e.g. {@code 4:150}. */
        public static Hold parse(String text) {
            String[] parts = text.trim().split(":", -1);
            if (parts.length != 2) {
                throw new IllegalArgumentException("a hold is CR:STEPS (e.g. 4:150), got \"" + text + "\"");
            }
            try {
                return new Hold(Double.parseDouble(parts[0].trim()), Integer.parseInt(parts[1].trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("a hold is CR:STEPS (e.g. 4:150), got \"" + text + "\"", e);
            }
        }
    }

    public DmsSchedule {
        if (!(stepsPerCr > 0) || Double.isInfinite(stepsPerCr)) {
            throw new IllegalArgumentException("steps per unit of compression ratio must be > 0, got " + stepsPerCr);
        }
        if (!(targetCr >= 1) || Double.isInfinite(targetCr)) {
            throw new IllegalArgumentException("the target compression ratio must be >= 1, got " + targetCr);
        }
        List<Hold> sorted = new ArrayList<>(holds == null ? List.of() : holds);
        sorted.sort(Comparator.comparingDouble(Hold::cr));
        for (int i = 0; i < sorted.size(); i++) {
            Hold h = sorted.get(i);
            if (!(h.cr() < targetCr)) {
                throw new IllegalArgumentException("a hold at CR " + h.cr() + " is not below the target " + targetCr
                        + " (the target itself is held by the step count)");
            }
            if (i > 0 && sorted.get(i - 1).cr() == h.cr()) {
                throw new IllegalArgumentException("two holds at CR " + h.cr());
            }
        }
        holds = List.copyOf(sorted);
    }

    /** The paper's plain ramp. */
    public DmsSchedule(double stepsPerCr, double targetCr) {
        this(stepsPerCr, targetCr, List.of());
    }

    public double cr(long step) {
        double s = step; // ramp steps: the steps of the holds passed so far taken out
        for (Hold h : holds) {
            double reached = (h.cr() - 1) * stepsPerCr;
            if (s < reached) {
                break;
            }
            if (s <= reached + h.steps()) {
                return h.cr();
            }
            s -= h.steps();
        }
        return Math.min(targetCr, 1 + s / stepsPerCr);
    }

    public double targetFraction(long step) {
        return 1 - 1 / cr(step);
    }

    /** The first step whose scheduled ratio is at least {@code cr}. */
    public int firstStepAt(double cr) {
        return (int) Math.ceil((cr - 1) * stepsPerCr + holdStepsBelow(cr) - 1e-9);
    }

    /**
     * The last step of the hold at {@code cr}, or {@link #firstStepAt} when it has none: the model after this step is
     * the one to keep for that ratio.
     */
    public int lastStepAt(double cr) {
        for (Hold h : holds) {
            if (h.cr() == cr) {
                return (int) Math.floor((cr - 1) * stepsPerCr + holdStepsBelow(cr) + h.steps() + 1e-9);
            }
        }
        return firstStepAt(cr);
    }

    /** Steps to reach the target (holds included) plus a hold of {@code holdFraction} of the ramp (at least one step). */
    public int defaultSteps(double holdFraction) {
        double ramp = stepsPerCr * (targetCr - 1);
        return Math.max(1, (int) Math.ceil(ramp + holdStepsBelow(targetCr) + holdFraction * ramp));
    }

    private int holdStepsBelow(double cr) {
        int n = 0;
        for (Hold h : holds) {
            if (h.cr() < cr) {
                n += h.steps();
            }
        }
        return n;
    }
}
