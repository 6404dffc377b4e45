package dev.kvslim.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufModels;
import dev.kvslim.core.format.gguf.GgufQuantizer;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.core.testing.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;

/**
 * Files KVSlim's own {@code quantize} writes, read by llama.cpp: stories260K quantised to each writable block type,
 * and llama.cpp's next-token probabilities on those very bytes (node-llama-cpp; {@code
 * tools/llamacpp/make-quantizer-goldens.sh}, see the PROVENANCE.md beside the goldens). The same file must come out
 * of the quantizer here (its SHA-256 is in the golden) and give the same ten most probable tokens with the same
 * probabilities, within a floor just above the largest difference measured (llama.cpp rounds activations to 8
 * bits; its F16 KV cache).
 */
class QuantizerAgainstLlamaCppTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    // measured 0.0186, 0.0196, 0.0218, 0.0260, 0.0089 (probabilities of the top tokens run up to 0.9)
    @CsvSource({"Q8_0, 0.024", "Q4_0, 0.025", "Q4_1, 0.028", "Q5_0, 0.033", "Q5_1, 0.012"})
    void llamaCppReadsOurFilesAsWeDo(GgmlType type, double floor) throws Exception {
        Path file = dir.resolve("stories260K-" + type + ".gguf");
        GgufQuantizer.quantize(GgufFile.read(Fixtures.path("stories260K/derived/stories260K.gguf")), type, file);
        JsonNode golden = Json.read(Path.of(QuantizerAgainstLlamaCppTest.class
                .getResource("/llamacpp-quantized/stories260K-" + type + ".json")
                .toURI()));
        assertThat(sha256(file))
                .as("the quantised file llama.cpp read")
                .isEqualTo(golden.get("sha256").asString());

        Model model = GgufModels.load(GgufFile.read(file));
        int[] tokens = Json.ints(golden.get("tokens"));
        KvCache cache = model.newDenseCache(tokens.length);
        Model.State state = model.newState(1);
        double worst = 0;
        for (int p = 0; p < tokens.length; p++) {
            float[] logits = model.forward(state, tokens, p, 1, p, cache);
            double[] probs = softmax(logits);
            JsonNode top = golden.get("positions").get(p);
            for (JsonNode pair : top) {
                worst = Math.max(
                        worst, Math.abs(probs[pair.get(0).asInt()] - pair.get(1).asDouble()));
            }
            // llama.cpp's most probable token is ours too, unless the two are within the floor of each other
            int best = top.get(0).get(0).asInt();
            int ours = Sampler.argmax(logits);
            assertThat(ours == best || probs[best] - probs[ours] > -floor)
                    .as("%s position %d", type, p)
                    .isTrue();
        }
        assertThat(worst)
                .as("%s: largest probability difference to llama.cpp", type)
                .isLessThan(floor);
    }

    private static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private static String sha256(Path file) throws IOException, java.security.NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
