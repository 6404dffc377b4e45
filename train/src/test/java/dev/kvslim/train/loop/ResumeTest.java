package dev.kvslim.train.loop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.tensor.Parallel;
import dev.kvslim.train.checkpoint.Checkpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resuming from a checkpoint continues the loss curve of an uninterrupted run bit for bit: within one JVM (a new
 * trainer object), and after a real {@code kill -9} of a child JVM that was training.
 */
class ResumeTest {

    @TempDir
    Path tmp;

    static List<Float> uninterrupted(Path out) throws IOException {
        List<Float> losses = new ArrayList<>();
        TinyRuns.trainer(out).run((r, total) -> losses.add(r.loss()));
        return losses;
    }

    @Test
    void sameSeedSameLossesAndTheyDecrease() throws IOException {
        List<Float> a = uninterrupted(tmp.resolve("a"));
        List<Float> b = uninterrupted(tmp.resolve("b"));
        assertThat(b).isEqualTo(a);
        assertThat(a.getLast()).isLessThan(a.getFirst());
    }

    @Test
    void newTrainerResumesWithIdenticalLosses() throws IOException {
        List<Float> expected = uninterrupted(tmp.resolve("full"));
        Path out = tmp.resolve("split");
        Trainer first = TinyRuns.trainer(out);
        List<Float> losses = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < 5; i++) {
            losses.add(first.trainStep(start).loss());
        }
        first.checkpoint();
        Trainer second = TinyRuns.trainer(out);
        assertThat(second.resume()).isTrue();
        assertThat(second.step()).isEqualTo(5);
        second.run((r, total) -> losses.add(r.loss()));
        assertThat(losses).isEqualTo(expected);
        assertThat(Files.exists(out.resolve("model/config.json"))).isTrue();
        assertThat(Files.exists(out.resolve("checkpoint/model/model.safetensors")))
                .isTrue();
    }

    @Test
    void resumeAfterKillMinus9OfATrainingProcess() throws Exception {
        List<Float> expected = uninterrupted(tmp.resolve("full"));
        Path out = tmp.resolve("killed");
        Path log = tmp.resolve("child.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(
                        java,
                        "--add-modules",
                        "jdk.incubator.vector",
                        "-Dkvslim.threads=" + Parallel.threads(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        ResumeChild.class.getName(),
                        out.toString(),
                        log.toString())
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve("child.out").toFile())
                .start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            // wait until the child has written the checkpoint of step 6 and gone on past it
            while (childSteps(log).size() < 7) {
                assertThat(child.isAlive())
                        .as("child still training (output: %s)", readQuietly(tmp.resolve("child.out")))
                        .isTrue();
                assertThat(System.nanoTime()).as("child made progress in time").isLessThan(deadline);
                Thread.sleep(50);
            }
        } finally {
            child.destroyForcibly(); // SIGKILL
            child.waitFor();
        }
        assertThat(child.exitValue()).as("killed by SIGKILL").isEqualTo(137);
        Map<Integer, Float> before = childSteps(log);
        for (var e : before.entrySet()) {
            assertThat(e.getValue()).as("child's loss at step %d", e.getKey()).isEqualTo(expected.get(e.getKey() - 1));
        }
        Trainer resumed = TinyRuns.trainer(out);
        assertThat(resumed.resume()).isTrue();
        int from = resumed.step();
        assertThat(from).isBetween(6, TinyRuns.STEPS - 1);
        List<Float> after = new ArrayList<>();
        resumed.run((r, total) -> after.add(r.loss()));
        assertThat(after).isEqualTo(expected.subList(from, TinyRuns.STEPS));
    }

    @Test
    void corruptCheckpointIsAClearError() throws IOException {
        Path out = tmp.resolve("corrupt");
        Trainer t = TinyRuns.trainer(out);
        t.trainStep(System.nanoTime());
        Path dir = t.checkpoint();
        Files.writeString(dir.resolve("train_state.safetensors"), "not a safetensors file");
        assertThat(Checkpoint.locate(out)).isEqualTo(dir);
        assertThatThrownBy(() -> TinyRuns.trainer(out).resume())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cannot resume from checkpoint");
    }

    @Test
    void flippedBytesAndBadStateFieldsAreRefusedNamingTheFile() throws IOException {
        Path out = tmp.resolve("tampered");
        Trainer t = TinyRuns.trainer(out);
        t.trainStep(System.nanoTime());
        Path dir = t.checkpoint();
        // flipped bytes deep in the tensors: the file still parses, the numbers would just be other ones
        Path tensors = dir.resolve("train_state.safetensors");
        byte[] bytes = Files.readAllBytes(tensors);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        for (int i = 0; i < 2000; i++) {
            int at = bytes.length / 2 + rnd.nextInt(bytes.length / 2);
            bytes[at] ^= (byte) (1 + rnd.nextInt(255));
        }
        byte[] original = Files.readAllBytes(tensors);
        Files.write(tensors, bytes);
        assertThatThrownBy(() -> TinyRuns.trainer(out).resume())
                .hasMessageContaining("train_state.safetensors does not match the SHA-256");
        Files.write(tensors, original);
        assertThat(TinyRuns.trainer(out).resume()).isTrue();

        Path state = dir.resolve("state.json");
        String json = Files.readString(state);
        Files.writeString(state, json.replaceFirst("\"step\" : 1,", "\"step\" : 999,"));
        assertThatThrownBy(() -> TinyRuns.trainer(out).resume()).hasMessageContaining("at step 999, past this run's");
        Files.writeString(state, json.replaceFirst("\"step\" : 1,", "\"step\" : -5,"));
        assertThatThrownBy(() -> TinyRuns.trainer(out).resume())
                .hasMessageContaining(dir.toString())
                .hasMessageContaining("state.json's step must be a whole number from 0");
        Files.writeString(state, json.replaceFirst("\"tokens\" : \\d+,", "\"tokens\" : \"many\","));
        assertThatThrownBy(() -> TinyRuns.trainer(out).resume()).hasMessageContaining("state.json's tokens");
    }

    private static Map<Integer, Float> childSteps(Path log) throws IOException {
        Map<Integer, Float> steps = new HashMap<>();
        if (!Files.exists(log)) {
            return steps;
        }
        for (String line : Files.readAllLines(log)) {
            String[] p = line.trim().split(" ");
            if (p.length == 2) {
                steps.put(Integer.parseInt(p[0]), Float.intBitsToFloat(Integer.parseInt(p[1])));
            }
        }
        return steps;
    }

    private static String readQuietly(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }
}
