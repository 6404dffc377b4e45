package dev.kvslim.cli;

import static dev.kvslim.cli.CommandLineTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.cli.CommandLineTest.Run;
import dev.kvslim.train.checkpoint.HfModelFiles;
import dev.kvslim.train.model.Parameter;
import dev.kvslim.train.model.TrainWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kvslim pretrain} on the task suite, and a second stage that starts from the first one's model. */
class PretrainCommandTest {

    private static Path config(Path dir, String name, String extra, int dim) throws Exception {
        Path f = dir.resolve(name + ".json");
        Files.writeString(
                f,
                "{\"model\": {\"dim\": " + dim + ", \"hidden\": 48, \"layers\": 2, \"heads\": 2, \"kv_heads\": 1,"
                        + " \"context\": 256},"
                        + " \"data\": {\"tasks\": {\"copy\": 1}, \"prompt_weight\": 1, \"min_context\": 72, \"tokenizer\": \"demo\"},"
                        + " \"batch\": 2, \"seq\": 159, \"steps\": 3, \"warmup\": 0, \"schedule\": \"constant\", \"seed\": 3,"
                        + " \"threads\": 1, \"out\": \"" + name + "\"" + extra + "}");
        return f;
    }

    @Test
    void aSecondStageStartsFromTheFirstStagesWeights(@TempDir Path dir) throws Exception {
        Run first = run(
                "pretrain",
                "--config",
                config(dir, "stage1", ", \"lr\": 0.003", 32).toString());
        assertThat(first.exit()).as(first.stderr()).isZero();
        // Only the final norm trains in stage 2, so every other tensor is saved exactly as it started: stage 1's
        // trained
        // weights (a fresh start from the same seed would hold stage 1's initialisation instead).
        Run second = run(
                "pretrain",
                "--config",
                config(
                                dir,
                                "stage2",
                                ", \"lr\": 0.003, \"init\": \"stage1/model\", \"train_only\": [\"model.norm.weight\"]",
                                32)
                        .toString());
        assertThat(second.exit()).as(second.stderr()).isZero();
        assertThat(second.stderr()).contains("from " + dir.resolve("stage1/model"));
        TrainWeights a = HfModelFiles.read(dir.resolve("stage1/model"));
        TrainWeights b = HfModelFiles.read(dir.resolve("stage2/model"));
        assertThat(b.parameters()).hasSameSizeAs(a.parameters());
        for (Parameter p : a.parameters()) {
            if (!p.name().equals("model.norm.weight")) {
                assertThat(b.get(p.name()).data()).as(p.name()).containsExactly(p.data());
            }
        }
        assertThat(b.get("model.norm.weight").data())
                .isNotEqualTo(a.get("model.norm.weight").data());

        Run wrong = run(
                "pretrain",
                "--config",
                config(dir, "stage3", ", \"lr\": 0.001, \"init\": \"stage1/model\"", 48)
                        .toString());
        assertThat(wrong.exit()).isEqualTo(1);
        assertThat(wrong.stderr())
                .contains("init: ")
                .contains("does not match the configured model")
                .contains("model.embed_tokens.weight");
    }
}
