package dev.kvslim.train.report;

import dev.kvslim.train.loop.StepCallback;
import dev.kvslim.train.loop.StepResult;
import java.io.PrintStream;
import java.util.Locale;

/** A one-line progress display on a terminal stream: bar, step, loss, tokens/s and time left. */
public final class ProgressBar implements StepCallback {

    private final PrintStream out;
    private final int firstStep;
    private long firstTokens = -1;
    private double firstElapsed;

    /** {@code firstStep}: the step the run (or resumed run) starts after, for the speed estimate. */
    public ProgressBar(PrintStream out, int firstStep) {
        this.out = out;
        this.firstStep = firstStep;
    }

    @Override
    public void afterStep(StepResult r, int totalSteps) {
        if (firstTokens < 0) {
            // speed counts from the end of the first step, so JIT warm-up does not skew it
            firstTokens = r.tokens();
            firstElapsed = r.elapsedSeconds();
        }
        double dt = r.elapsedSeconds() - firstElapsed;
        double tokPerSec = dt > 0 ? (r.tokens() - firstTokens) / dt : 0;
        int doneHere = r.step() - firstStep;
        double secPerStep = doneHere > 1 ? dt / (doneHere - 1) : r.elapsedSeconds();
        double eta = secPerStep * (totalSteps - r.step());
        int width = 24;
        int filled = (int) ((long) width * r.step() / totalSteps);
        String bar = "#".repeat(filled) + "-".repeat(width - filled);
        out.printf(
                Locale.ROOT,
                "\r[%s] step %d/%d  loss %.4f  lr %.2e  %,.0f tok/s  ETA %s   ",
                bar,
                r.step(),
                totalSteps,
                r.loss(),
                r.lr(),
                tokPerSec,
                duration(eta));
        if (r.step() == totalSteps) {
            out.println();
        }
        out.flush();
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600
                ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
