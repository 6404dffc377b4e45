package dev.kvslim.train.loop;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process the kill -9 test kills: trains {@link TinyRuns} into {@code args[0]}, printing each step's loss bits
 * to {@code args[1]}, slowly (so the parent can kill it between checkpoints).
 */
public final class ResumeChild {

    private ResumeChild() {}

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        try (PrintStream log = new PrintStream(Files.newOutputStream(Path.of(args[1])), true)) {
            Trainer t = TinyRuns.trainer(out);
            t.run((r, total) -> {
                log.println(r.step() + " " + Float.floatToIntBits(r.loss()));
                try {
                    Thread.sleep(400);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
    }
}
