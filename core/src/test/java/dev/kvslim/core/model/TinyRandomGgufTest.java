package dev.kvslim.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufModels;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.core.testing.Json;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** A GGUF v3 Llama with random F16 weights and the real 32000-token vocabulary, against llama.cpp's logits. */
class TinyRandomGgufTest {

    @Test
    void logitsMatchLlamaCpp() {
        GgufFile file = GgufFile.read(Fixtures.path("gguf/llama-2-tiny-random/llama-2-tiny-random.gguf"));
        Model model = GgufModels.load(file);
        assertThat(model.config().vocabSize()).isEqualTo(32000);
        assertThat(model.config().tiedEmbeddings()).isFalse();
        assertThat(model.weights().wq()[0].type()).isEqualTo(GgmlType.F16);

        JsonNode golden = Json.read(Fixtures.path("gguf/llama-2-tiny-random/golden/llamacpp_once_upon_a_time.json"));
        int[] prompt = Json.ints(golden.get("prompt_tokens"));
        KvCache cache = model.newDenseCache(prompt.length);
        Model.State state = model.newState(1);
        for (JsonNode pos : golden.get("positions")) {
            int p = pos.get("pos").asInt();
            float[] logits = model.forward(state, prompt, p, 1, p, cache);
            float[] first16 = Json.floats(pos.get("first16"));
            for (int i = 0; i < first16.length; i++) {
                assertThat(logits[i]).as("logit %d at position %d", i, p).isCloseTo(first16[i], within(1e-3f));
            }
            for (JsonNode top : pos.get("top5")) {
                int id = top.get(0).asInt();
                assertThat(logits[id])
                        .as("top logit %d at position %d", id, p)
                        .isCloseTo((float) top.get(1).asDouble(), within(1e-3f));
            }
        }
    }
}
