package dev.kvslim.train.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pretrain config file: a valid one parses; bad ones fail with a message naming what is wrong. */
class PretrainConfigTest {

    @TempDir
    Path dir;

    private PretrainConfig read(String json) throws IOException {
        Files.writeString(dir.resolve("text.txt"), "hello");
        Files.writeString(dir.resolve("tok.bin"), "x");
        Path f = dir.resolve("run.json");
        Files.writeString(f, json);
        return PretrainConfig.read(f, p -> 260, null);
    }

    private static String config(String extra) {
        return "{\"model\": {\"dim\": 64, \"hidden\": 128, \"layers\": 2, \"heads\": 4, \"kv_heads\": 2},"
                + " \"data\": {\"text\": \"text.txt\", \"tokenizer\": \"tok.bin\"},"
                + " \"batch\": 2, \"seq\": 32, \"steps\": 10, \"lr\": 0.001, \"out\": \"run\"" + extra + "}";
    }

    @Test
    void validConfigParsesWithDefaults() throws IOException {
        PretrainConfig c = read(config(", \"warmup\": 2, \"train_only\": [\"*dms_proj_alpha*\"]"));
        assertThat(c.train().model().vocabSize()).isEqualTo(260);
        assertThat(c.train().model().headSize()).isEqualTo(16);
        assertThat(c.train().lr().at(0)).isEqualTo(0.0005f);
        assertThat(c.train().outDir()).isEqualTo(dir.resolve("run"));
        assertThat(c.train().freeze().trainOnly()).containsExactly("*dms_proj_alpha*");
    }

    @Test
    void badInputNamesTheField() {
        assertThatThrownBy(() -> read(config(", \"lerning_rate\": 1")))
                .hasMessageContaining("unknown key \"lerning_rate\"");
        assertThatThrownBy(() -> read(config(", \"clip\": \"high\"")))
                .hasMessageContaining("\"clip\" must be a number");
        assertThatThrownBy(() -> read(config("").replace("\"batch\": 2", "\"batch\": 2.5")))
                .hasMessageContaining("\"batch\" must be an integer");
        assertThatThrownBy(() -> read(config("").replace("text.txt", "missing.txt")))
                .hasMessageContaining("data.text")
                .hasMessageContaining("does not exist");
        assertThatThrownBy(() -> read(config(", \"schedule\": \"linear\""))).hasMessageContaining("schedule must be");
        assertThatThrownBy(() -> read("[1]")).hasMessageContaining("must hold a JSON object");
    }

    @Test
    void ropeScalingAsInAHuggingFaceConfig() throws IOException {
        String scaled = config("")
                .replace(
                        "\"kv_heads\": 2}",
                        "\"kv_heads\": 2, \"context\": 4096, \"rope_scaling\": {\"factor\": 4,"
                                + " \"low_freq_factor\": 1, \"high_freq_factor\": 4,"
                                + " \"original_max_position_embeddings\": 1024}}");
        var model = read(scaled).train().model();
        assertThat(model.ropeScaling()).isEqualTo(new dev.kvslim.core.model.LlamaConfig.RopeScaling(4f, 1f, 4f, 1024));
        // head size 16, theta 10000: wavelengths 2 pi 10000^(i/8); the longest (over 1,024) are stretched 4x, the
        // shortest (under 256) kept
        float[] plain = read(config("")).train().model().ropeFrequencies();
        float[] stretched = model.ropeFrequencies();
        assertThat(stretched[0]).isEqualTo(plain[0]);
        assertThat(stretched[7]).isEqualTo(plain[7] / 4);
        assertThat(read(config("")).train().model().ropeScaling()).isNull();

        assertThatThrownBy(() -> read(scaled.replace("\"low_freq_factor\"", "\"low_frequency_factor\"")))
                .hasMessageContaining("unknown key \"model.rope_scaling.low_frequency_factor\"");
        assertThatThrownBy(() -> read(scaled.replace("\"high_freq_factor\": 4,", "")))
                .hasMessageContaining("\"model.rope_scaling.high_freq_factor\" must be a number, is missing");
        assertThatThrownBy(() -> read(scaled.replace("\"factor\": 4", "\"factor\": 0")))
                .hasMessageContaining("invalid llama3 rope scaling");
        assertThatThrownBy(() -> read(config("").replace("\"kv_heads\": 2}", "\"kv_heads\": 2, \"rope_scaling\": 4}")))
                .hasMessageContaining("\"rope_scaling\" must be an object");
    }

    @Test
    void taskDataWithTheDemoTokenizer() throws IOException {
        String tasks = config("")
                .replace(
                        "\"text\": \"text.txt\", \"tokenizer\": \"tok.bin\"",
                        "\"tasks\": {\"needle\": 2, \"runsum\": 1}, \"prompt_weight\": 0.1, \"tokenizer\": \"demo\"");
        PretrainConfig c = read(tasks);
        assertThat(c.text()).isNull();
        assertThat(c.tasks()).containsExactly(java.util.Map.entry("needle", 2.0), java.util.Map.entry("runsum", 1.0));
        assertThat(c.promptWeight()).isEqualTo(0.1f);
        assertThat(c.demoTokenizer()).isTrue();
        assertThat(c.tokenizer()).isEqualTo(dir.resolve("run").resolve("tokenizer"));
        assertThat(c.train().model().vocabSize()).isEqualTo(259);
        assertThat(read(tasks.replace("{\"needle\": 2, \"runsum\": 1}", "\"all\""))
                        .tasks())
                .hasSize(4);

        assertThatThrownBy(() -> read(tasks.replace("needle", "haystack")))
                .hasMessageContaining("no task named 'haystack'");
        assertThatThrownBy(() -> read(tasks.replace("\"prompt_weight\": 0.1", "\"prompt_weight\": 2")))
                .hasMessageContaining("data.prompt_weight");
        assertThatThrownBy(() -> read(tasks.replace("\"tasks\"", "\"text\": \"text.txt\", \"tasks\"")))
                .hasMessageContaining("exactly one of \"text\" and \"tasks\"");
    }

    @Test
    void initNamesAModelFolder() throws IOException {
        Path model = Files.createDirectories(dir.resolve("stage1/model"));
        Files.writeString(model.resolve("config.json"), "{}");
        assertThat(read(config("")).init()).isNull();
        assertThat(read(config(", \"init\": \"stage1/model\"")).init()).isEqualTo(model);
        assertThatThrownBy(() -> read(config(", \"init\": \"stage1\"")))
                .hasMessageContaining("\"init\"")
                .hasMessageContaining("not a model folder");
        assertThatThrownBy(() -> read(config(", \"init\": 3"))).hasMessageContaining("\"init\" must be a string");
    }
}
