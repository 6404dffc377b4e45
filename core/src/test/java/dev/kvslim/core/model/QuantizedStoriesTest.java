package dev.kvslim.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufModels;
import dev.kvslim.core.format.gguf.GgufQuantizer;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.core.testing.Json;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;

/**
 * Q8_0 and Q4_0 copies of stories260K written by our quantizer: how much of llama.cpp's 200-token greedy
 * continuation (of the F32 model) survives. Measured with 512-bit vectors: Q8_0 keeps 115 tokens before the
 * first difference (117 at the same position), Q4_0 28 (30). The floors leave a little room for other vector
 * widths, which sum in another order; a drop below them means the quantizer or a kernel got worse.
 */
class QuantizedStoriesTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"Q8_0, 110, 110", "Q4_0, 25, 25"})
    void greedyTokensSurviveQuantization(GgmlType type, int minCommonPrefix, int minSamePositions) throws IOException {
        GgufFile source = GgufFile.read(Fixtures.path("stories260K/derived/stories260K.gguf"));
        Path out = dir.resolve("stories260K-" + type + ".gguf");
        GgufQuantizer.Result result = GgufQuantizer.quantize(source, type, out);
        // the five down projections have rows of 172 values, which no 32-value block divides
        assertThat(result.fallbacks()).hasSize(5).allMatch(s -> s.contains("ffn_down"));

        Model model = GgufModels.load(GgufFile.read(out));
        assertThat(model.weights().wq()[0].type()).isEqualTo(type);
        JsonNode golden = Json.read(Fixtures.path("stories260K/derived/llamacpp_once_upon_a_time.json"));
        int[] expected = Json.ints(golden.get("tokens"));
        int[] actual = Stories260KTest.greedy(model, Json.ints(golden.get("prompt_tokens")), expected.length - 1);

        int prefix = 0;
        while (prefix < Math.min(actual.length, expected.length) && actual[prefix] == expected[prefix]) {
            prefix++;
        }
        int same = 0;
        for (int i = 0; i < Math.min(actual.length, expected.length); i++) {
            same += actual[i] == expected[i] ? 1 : 0;
        }
        System.out.printf(
                "%s: %d of %d greedy tokens before the first difference, %d at the same position%n",
                type, prefix, expected.length, same);
        assertThat(prefix).isGreaterThanOrEqualTo(minCommonPrefix);
        assertThat(same).isGreaterThanOrEqualTo(minSamePositions);
    }
}
