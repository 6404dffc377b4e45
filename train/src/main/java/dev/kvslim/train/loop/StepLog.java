package dev.kvslim.train.loop;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One JSON line per step ({@code step, loss, lr, grad_norm, tokens, elapsed_s}), appended and flushed as it
 * happens, so a killed run keeps its log. A resumed run drops lines past the step it resumes from before
 * appending, so the file always tells one consistent history.
 */
public final class StepLog implements StepCallback, Closeable {

    private final BufferedWriter out;

    public StepLog(Path file, int resumedFromStep) throws IOException {
        List<String> kept = new ArrayList<>();
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file)) {
                int step = stepOf(line);
                if (step > 0 && step <= resumedFromStep) {
                    kept.add(line);
                }
            }
        }
        Files.write(file, kept);
        out = Files.newBufferedWriter(file, StandardOpenOption.APPEND);
    }

    @Override
    public void afterStep(StepResult r, int totalSteps) {
        write(String.format(
                Locale.ROOT,
                "{\"step\":%d,\"loss\":%.6f,\"lr\":%.6e,\"grad_norm\":%.6f,\"tokens\":%d,\"elapsed_s\":%.3f}",
                r.step(),
                r.loss(),
                r.lr(),
                r.gradNorm(),
                r.tokens(),
                r.elapsedSeconds()));
    }

    /** Appends one line (a JSON object that starts with {@code "step"} and has a {@code "loss"}) and flushes it. */
    public void write(String jsonLine) {
        try {
            out.write(jsonLine);
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the step log: " + e.getMessage(), e);
        }
    }

    /** Steps and losses of a log file, in order. */
    public static List<double[]> read(Path file) throws IOException {
        List<double[]> points = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            int step = stepOf(line);
            int at = line.indexOf("\"loss\":");
            if (step > 0 && at >= 0) {
                int end = line.indexOf(',', at);
                points.add(new double[] {step, Double.parseDouble(line.substring(at + 7, end))});
            }
        }
        return points;
    }

    private static int stepOf(String line) {
        int at = line.indexOf("\"step\":");
        if (at < 0) {
            return -1;
        }
        int end = line.indexOf(',', at);
        try {
            return Integer.parseInt(line.substring(at + 7, end));
        } catch (RuntimeException e) {
            return -1;
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
