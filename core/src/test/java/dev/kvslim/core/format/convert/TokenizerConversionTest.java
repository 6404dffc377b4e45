package dev.kvslim.core.format.convert;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufWriter;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.core.tokenizer.GgufTokenizers;
import dev.kvslim.core.tokenizer.HfTokenizerJson;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A tokenizer.json carried into GGUF metadata (as llama.cpp's converter writes it) and read back by the GGUF loader
 * encodes llama.cpp's test vectors like the original, and the tokenizer.json written back from the GGUF does too.
 */
class TokenizerConversionTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"llama3, llamacpp-ggml-vocab-llama-bpe.gguf", "qwen3, llamacpp-ggml-vocab-qwen2.gguf"})
    void vocabularySurvivesTheRoundTrip(String name, String vectors) throws IOException {
        Path folder = Fixtures.path("tokenizers/" + name);
        Tokenizer original = HfTokenizerJson.load(folder.resolve("tokenizer.json"));
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", "llama");
        TokenizerConversion.toGguf(folder.resolve("tokenizer.json"), folder.resolve("tokenizer_config.json"))
                .forEach(w::put);
        Path gguf = dir.resolve(name + ".gguf");
        w.write(gguf);
        GgufFile file = GgufFile.read(gguf);
        Tokenizer fromGguf = GgufTokenizers.load(file);
        Path json = dir.resolve("tokenizer.json");
        Files.writeString(json, TokenizerConversion.toTokenizerJson(file));
        Tokenizer back = HfTokenizerJson.load(json);

        List<String> texts =
                Arrays.asList(Files.readString(folder.resolve(vectors + ".inp")).split("\n__ggml_vocab_test__\n", -1));
        texts = texts.subList(0, texts.size() - 1);
        List<String> ids = Files.readAllLines(folder.resolve(vectors + ".out"));
        for (int i = 0; i < texts.size(); i++) {
            int[] expected = ids.get(i).isBlank()
                    ? new int[0]
                    : Arrays.stream(ids.get(i).trim().split(" +"))
                            .mapToInt(Integer::parseInt)
                            .toArray();
            assertThat(original.encode(texts.get(i), false))
                    .as("original, case %d", i)
                    .containsExactly(expected);
            assertThat(fromGguf.encode(texts.get(i), false))
                    .as("from GGUF, case %d", i)
                    .containsExactly(expected);
            assertThat(back.encode(texts.get(i), false))
                    .as("tokenizer.json from GGUF, case %d", i)
                    .containsExactly(expected);
        }
        assertThat(fromGguf.vocabSize()).isEqualTo(original.vocabSize());
        assertThat(file.getString("tokenizer.chat_template", null)).isNotBlank();
    }
}
