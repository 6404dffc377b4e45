package dev.kvslim.core.format;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.kvslim.core.io.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Arbitrary bytes as model headers, with Jazzer: the first byte picks what the rest becomes (a GGUF file; the
 * {@code model.safetensors} of a folder with a small valid config.json; a folder's config.json), and loading it
 * either succeeds or throws a {@link ModelFormatException} naming the file, never anything else (no
 * {@code OutOfMemoryError} from a count nobody checked, no index or arithmetic exception).
 *
 * <p>{@code mvn verify} runs the seed corpus only (src/test/resources/dev/kvslim/core/format/ModelHeaderFuzzTestInputs,
 * written by hand: lying counts, shapes and lengths); to fuzz, {@code JAZZER_FUZZ=1 ./mvnw -pl core test
 * -Dtest=ModelHeaderFuzzTest -Djazzer.max_duration=5m} (findings land in that folder and stay as regression cases).
 */
class ModelHeaderFuzzTest {

    /** A small Llama whose weights the safetensors input must supply. */
    private static final String TINY_CONFIG = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8, "intermediate_size": 16,
             "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 16,
             "max_position_embeddings": 16, "rms_norm_eps": 1e-5}
            """;

    @FuzzTest
    void modelFiles(byte[] input) throws IOException {
        if (input.length == 0) {
            return;
        }
        byte[] rest = Arrays.copyOfRange(input, 1, input.length);
        Path dir = Files.createTempDirectory("kvslim-header-fuzz");
        try {
            Path target;
            switch (Math.floorMod(input[0], 3)) {
                case 0 -> target = Files.write(dir.resolve("model.gguf"), rest);
                case 1 -> {
                    Files.writeString(dir.resolve("config.json"), TINY_CONFIG);
                    Files.write(dir.resolve("model.safetensors"), rest);
                    target = dir;
                }
                default -> {
                    Files.write(dir.resolve("config.json"), rest);
                    target = dir;
                }
            }
            try {
                ModelLoader.loadModel(target);
            } catch (ModelFormatException expected) {
                assertThat(expected.getMessage()).contains(dir.toString());
            }
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
