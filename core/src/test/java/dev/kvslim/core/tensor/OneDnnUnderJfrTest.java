package dev.kvslim.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * oneDNN's products in a process that JDK Flight Recorder samples: without the signal mask {@link OneDnn} puts around
 * each call, such a process aborted in glibc's malloc within a second or two. A child JVM runs {@link #main} (two
 * threads multiplying for a few seconds) under JFR with execution samples every millisecond, and must end normally.
 */
class OneDnnUnderJfrTest {

    @Test
    void productsSurviveJfrExecutionSampling(@TempDir Path dir) throws IOException, InterruptedException {
        if (!OneDnn.available()) {
            assertThat(MatmulBackend.parse("auto")).isEqualTo(MatmulBackend.JAVA);
            return;
        }
        Path log = dir.resolve("child.log");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules",
                "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx256m",
                "-XX:StartFlightRecording:filename=" + dir.resolve("child.jfr") + ",settings=profile,"
                        + "jdk.ExecutionSample#period=1ms,jdk.NativeMethodSample#period=1ms",
                "-cp",
                System.getProperty("java.class.path"),
                OneDnnUnderJfrTest.class.getName(),
                "3"));
        Process child = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        boolean ended = child.waitFor(60, TimeUnit.SECONDS);
        if (!ended) {
            child.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(ended).as("the child ended in time; its output:%n%s", output).isTrue();
        assertThat(child.exitValue())
                .as("the child's exit status; its output:%n%s", output)
                .isZero();
        assertThat(output).contains("products: ");
        assertThat(dir.resolve("child.jfr")).isNotEmptyFile();
    }

    /** The child: two threads multiply a 300 x 128 batch by 384 rows through oneDNN for {@code args[0]} seconds. */
    public static void main(String[] args) throws InterruptedException {
        long end = System.nanoTime() + (long) (Double.parseDouble(args[0]) * 1e9);
        int m = 300, n = 384, k = 128;
        long[] calls = new long[2];
        Thread[] threads = new Thread[2];
        for (int w = 0; w < threads.length; w++) {
            int worker = w;
            threads[w] = new Thread(() -> {
                float[] a = new float[m * k], c = new float[m * n];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (i % 7) * 0.25f;
                }
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment b = arena.allocate((long) n * k * Float.BYTES, 64);
                    while (System.nanoTime() < end) {
                        OneDnn.sgemm(m, n, k, a, b, c, 0, n);
                        calls[worker]++;
                    }
                }
            });
            threads[w].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        System.out.println("products: " + (calls[0] + calls[1]));
    }
}
