package dev.kvslim.cli;

import static dev.kvslim.cli.CommandLineTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.cli.CommandLineTest.Run;
import dev.kvslim.core.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kvslim retrofit} end to end on stories260K (a few steps): the milestone and final folders carry the DMS
 * metadata, so {@code generate} with the default {@code --kv-policy auto} runs them with the DMS cache; bad flags
 * are named.
 */
class RetrofitCommandTest {

    @Test
    void retrofitWritesFoldersThatGenerateRunsWithTheDmsCache(@TempDir Path dir) throws Exception {
        Path teacher = dir.resolve("stories-hf");
        assertThat(run(
                                "convert",
                                "--model",
                                Fixtures.path("stories260K/derived/stories260K.gguf")
                                        .toString(),
                                "--to",
                                "safetensors",
                                "--out",
                                teacher.toString())
                        .exit())
                .isZero();
        Path out = dir.resolve("dms");
        Path plot = dir.resolve("retrofit.png");
        Run r = run(
                "retrofit",
                "--teacher",
                teacher.toString(),
                "--out",
                out.toString(),
                "--target-cr",
                "2",
                "--steps-per-cr",
                "4",
                "--steps",
                "6",
                "--seq",
                "48",
                "--window",
                "4",
                "--batch",
                "2",
                "--teacher-tokens",
                "1024",
                "--plot",
                plot.toString());
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stderr())
                .contains("adapter mode")
                .contains("KL")
                .contains("target 2.00")
                .contains("ETA")
                .contains("cr2 saved to");
        assertThat(out.resolve("cr2/config.json")).exists();
        assertThat(Files.readString(out.resolve("model/config.json")))
                .contains("\"dms_window_size\" : 4")
                .contains("\"dms_separate_alpha\" : true");
        assertThat(out.resolve("train_log.jsonl")).exists();
        assertThat(plot).exists();
        Run g = run(
                "generate",
                "--model",
                out.resolve("cr2").toString(),
                "--prompt",
                "Once upon a time",
                "--temperature",
                "0",
                "--max-tokens",
                "60");
        assertThat(g.exit()).as(g.stderr()).isZero();
        assertThat(g.stderr()).contains("kv cache: dms, compression");

        Run again = run("retrofit", "--teacher", teacher.toString(), "--out", out.toString());
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.stderr())
                .contains("already holds a retrofit (checkpoint)")
                .contains("--resume")
                .contains("--overwrite");
        assertThat(r.stderr()).contains("sampling training text from the teacher: 100%");
        // a run killed before its first checkpoint left only its step log: that is refused too, not truncated
        Path partial = Files.createDirectories(dir.resolve("partial"));
        Files.writeString(partial.resolve("train_log.jsonl"), "{\"step\": 1}\n");
        Run overLog = run("retrofit", "--teacher", teacher.toString(), "--out", partial.toString());
        assertThat(overLog.exit()).isEqualTo(1);
        assertThat(overLog.stderr()).contains("(train_log.jsonl)", "--overwrite");
        assertThat(Files.readString(partial.resolve("train_log.jsonl"))).isEqualTo("{\"step\": 1}\n");
        Run both = run("retrofit", "--teacher", teacher.toString(), "--out", out.toString(), "--resume", "--overwrite");
        assertThat(both.exit()).isEqualTo(1);
        assertThat(both.stderr()).contains("choose one");
    }

    @Test
    void badFlagsAreNamed(@TempDir Path dir) throws Exception {
        Path teacher = dir.resolve("stories-hf");
        assertThat(run(
                                "convert",
                                "--model",
                                Fixtures.path("stories260K/derived/stories260K.gguf")
                                        .toString(),
                                "--to",
                                "safetensors",
                                "--out",
                                teacher.toString())
                        .exit())
                .isZero();
        String out = dir.resolve("out").toString();
        Run missing = run("retrofit", "--teacher", dir.resolve("nothing").toString(), "--out", out);
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.stderr())
                .contains("kvslim: error: --teacher")
                .contains("nothing")
                .contains("not a folder");
        Run cr = run("retrofit", "--teacher", teacher.toString(), "--out", out, "--target-cr", "0.5");
        assertThat(cr.exit()).isEqualTo(1);
        assertThat(cr.stderr()).contains("--target-cr must be >= 1, got 0.5");
        Run window = run("retrofit", "--teacher", teacher.toString(), "--out", out, "--window", "-1");
        assertThat(window.exit()).isEqualTo(1);
        assertThat(window.stderr()).contains("--window must be >= 0, got -1");
        Run mode = run("retrofit", "--teacher", teacher.toString(), "--out", out, "--mode", "lora");
        assertThat(mode.exit()).isEqualTo(2);
        assertThat(mode.stderr()).contains("--mode must be full, adapter or adapter-full, got 'lora'");
        Run scope = run("retrofit", "--teacher", teacher.toString(), "--out", out, "--hinge-scope", "head");
        assertThat(scope.exit()).isEqualTo(2);
        assertThat(scope.stderr()).contains("--hinge-scope must be model or layer, got 'head'");
        Run gguf = run(
                "retrofit",
                "--teacher",
                Fixtures.path("stories260K/derived/stories260K.gguf").toString(),
                "--out",
                out);
        assertThat(gguf.exit()).isEqualTo(1);
        assertThat(gguf.stderr()).contains("kvslim convert");
    }
}
