package dev.kvslim.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufModels;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.core.testing.Json;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;

/**
 * One small random-weight model as llama.cpp's own {@code llama-quantize} writes it in every common weight type
 * ({@code gguf/quant-types}), fed the same 27 tokens one at a time: all 512 logits at every position against
 * llama.cpp's. llama.cpp rounds activations to 8 bits before its quantised dot products (Q8_0 / Q8_K blocks);
 * KVSlim's integer kernels (Q8_0, Q4_0, Q4_K, Q6_K with 16-lane vectors) round them the same way, its other
 * kernels multiply the decoded weights with the activations as computed. Where the integer kernels run, the Q4_K_M
 * and Q6_K files' largest differences fell from 0.27 and 0.23 to 0.14 and 0.15 (mean 0.038 and 0.037 to 0.029 and
 * 0.030), Q3_K_M's rose from 0.20 to 0.27 (its Q3_K and Q5_K matrices still take float inputs) and Q4_0's from
 * 0.14 to 0.20 (mean 0.026 to 0.027), the others moved by 0.01 or less. The floors are the largest and the mean
 * absolute difference measured on either path (8-lane runs take the float kernels), plus a quarter; the F32 model
 * agrees to
 * 0.004 (llama.cpp's F16 KV cache). A mistake in a decoder moves logits by about their spread (standard deviation
 * 1.3; llama.cpp's own logits of these files differ from the F32 model's by 0.1 to 2.5).
 */
class QuantTypesTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        // file, matrix types it holds, largest difference, mean difference (each measured + 25%)
        "base-f32, '', 0.006, 0.001",
        "tiny-Q8_0, 'Q8_0', 0.143, 0.0253",
        "tiny-Q4_0, 'Q4_0,Q6_K', 0.248, 0.0335",
        "tiny-Q4_1, 'Q4_1,Q6_K', 0.17, 0.0324",
        "tiny-Q5_0, 'Q5_0,Q6_K', 0.188, 0.0328",
        "tiny-Q5_1, 'Q5_1,Q6_K', 0.205, 0.0343",
        "tiny-IQ4_NL, 'IQ4_NL,Q6_K', 0.154, 0.0255",
        "tiny-Q2_K, 'Q2_K,Q3_K,Q6_K', 0.26, 0.0481",
        "tiny-Q3_K_M, 'Q3_K,Q4_K,Q5_K,Q6_K', 0.343, 0.049",
        "tiny-Q4_K_M, 'Q4_K,Q6_K', 0.342, 0.047",
        "tiny-Q5_K_M, 'Q5_K,Q6_K', 0.302, 0.047",
        "tiny-Q6_K, 'Q6_K', 0.293, 0.0457",
    })
    void logitsAgreeWithLlamaCpp(String name, String types, double maxFloor, double meanFloor) {
        GgufFile file = GgufFile.read(Fixtures.path("gguf/quant-types/" + name + ".gguf"));
        Model model = GgufModels.load(file);
        Set<GgmlType> seen = EnumSet.noneOf(GgmlType.class);
        for (FloatTensor t : model.weights().matrices()) {
            seen.add(t.type());
        }
        seen.remove(GgmlType.F32);
        Set<GgmlType> expectedTypes = EnumSet.noneOf(GgmlType.class);
        for (String t : types.split(",")) {
            if (!t.isBlank()) {
                expectedTypes.add(GgmlType.valueOf(t));
            }
        }
        assertThat(seen).as("matrix types of %s", name).isEqualTo(expectedTypes);

        JsonNode golden = Json.read(Fixtures.path("gguf/quant-types/golden/" + name + ".json"));
        int[] tokens = Json.ints(golden.get("tokens"));
        KvCache cache = model.newDenseCache(tokens.length);
        Model.State state = model.newState(1);
        double worst = 0, total = 0;
        int count = 0;
        for (int p = 0; p < tokens.length; p++) {
            float[] logits = model.forward(state, tokens, p, 1, p, cache);
            float[] expected = Json.floats(golden.get("logits").get(p));
            assertThat(logits).hasSize(expected.length);
            for (int i = 0; i < expected.length; i++) {
                double d = Math.abs(logits[i] - expected[i]);
                worst = Math.max(worst, d);
                total += d;
                count++;
            }
        }
        assertThat(worst).as("%s: largest logit difference to llama.cpp", name).isLessThan(maxFloor);
        assertThat(total / count)
                .as("%s: mean logit difference to llama.cpp", name)
                .isLessThan(meanFloor);
    }
}
