package dev.kvslim.train.report;

import dev.kvslim.train.dms.Retrofit;
import dev.kvslim.train.dms.RetrofitLoss;
import dev.kvslim.train.loop.StepResult;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/** The retrofit's one-line progress display: bar, step, KL, achieved and target compression ratio, speed, ETA. */
public final class RetrofitProgress implements Retrofit.Listener {

    private final PrintStream out;
    private final int firstStep;
    private double firstElapsed = -1;

    public RetrofitProgress(PrintStream out, int firstStep) {
        this.out = out;
        this.firstStep = firstStep;
    }

    @Override
    public void afterStep(StepResult r, RetrofitLoss.StepMetrics m, int totalSteps) {
        if (firstElapsed < 0) {
            firstElapsed = r.elapsedSeconds(); // timing from the end of the first step (JIT warm-up)
        }
        int doneHere = r.step() - firstStep;
        double secPerStep = doneHere > 1 ? (r.elapsedSeconds() - firstElapsed) / (doneHere - 1) : r.elapsedSeconds();
        int width = 24;
        int filled = (int) ((long) width * r.step() / totalSteps);
        out.printf(
                Locale.ROOT,
                "\r[%s] step %d/%d  KL %.4f  CR %.2f (target %.2f)  %.2f s/step  ETA %s   ",
                "#".repeat(filled) + "-".repeat(width - filled),
                r.step(),
                totalSteps,
                m.kl(),
                m.trainCr(),
                m.targetCr(),
                secPerStep,
                ProgressBar.duration(secPerStep * (totalSteps - r.step())));
        if (r.step() == totalSteps) {
            out.println();
        }
        out.flush();
    }

    @Override
    public void saved(String what, Path dir, RetrofitLoss.StepMetrics m) {
        out.printf(
                Locale.ROOT,
                "%nretrofit: %s saved to %s (training CR %.2f, KL %.4f)%n",
                what,
                dir,
                m.trainCr(),
                m.kl());
        out.flush();
    }
}
