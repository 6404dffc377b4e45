package dev.kvslim.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufModels;
import dev.kvslim.core.format.llama2c.Llama2cCheckpoint;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.core.testing.Json;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * stories260K against two independent implementations: llama2.c's run.c on the original checkpoint and
 * llama.cpp on its GGUF conversion.
 */
class Stories260KTest {

    static Model checkpoint() {
        return Llama2cCheckpoint.load(Fixtures.path("stories260K/stories260K.bin"));
    }

    static Model gguf() {
        return GgufModels.load(GgufFile.read(Fixtures.path("stories260K/derived/stories260K.gguf")));
    }

    @Test
    void readsTheHeader() {
        LlamaConfig c = checkpoint().config();
        assertThat(c.dim()).isEqualTo(64);
        assertThat(c.hiddenDim()).isEqualTo(172);
        assertThat(c.layers()).isEqualTo(5);
        assertThat(c.heads()).isEqualTo(8);
        assertThat(c.kvHeads()).isEqualTo(4);
        assertThat(c.vocabSize()).isEqualTo(512);
        assertThat(c.contextLength()).isEqualTo(512);
        assertThat(c.tiedEmbeddings()).isTrue();
    }

    @Test
    void logitsMatchRunC() {
        JsonNode golden = Json.read(Fixtures.path("stories260K/golden/logits_once_upon_a_time.json"));
        assertLogitsMatch(checkpoint(), golden, 5e-3f);
    }

    @Test
    void ggufLogitsMatchLlamaCpp() {
        JsonNode golden = Json.read(Fixtures.path("stories260K/derived/llamacpp_once_upon_a_time.json"));
        assertLogitsMatch(gguf(), golden, 5e-3f);
    }

    private static void assertLogitsMatch(Model model, JsonNode golden, float tolerance) {
        KvCache cache = model.newDenseCache(16);
        Model.State state = model.newState(1);
        for (JsonNode pos : golden.get("positions")) {
            int p = pos.get("pos").asInt();
            float[] logits =
                    model.forward(state, new int[] {pos.get("input_token").asInt()}, 0, 1, p, cache);
            float[] expected = Json.floats(pos.get("full"));
            assertThat(logits).as("logits at position %d", p).containsExactly(expected, within(tolerance));
            assertThat(Sampler.argmax(logits)).isEqualTo(pos.get("argmax").asInt());
        }
    }

    @Test
    void batchedPrefillEqualsTokenByTokenDecode() {
        Model model = checkpoint();
        int[] prompt = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376};
        KvCache one = model.newDenseCache(prompt.length);
        Model.State s1 = model.newState(1);
        float[] stepwise = null;
        for (int p = 0; p < prompt.length; p++) {
            stepwise = model.forward(s1, prompt, p, 1, p, one).clone();
        }
        for (int batch : new int[] {2, 3, 4, 5, 10}) {
            KvCache cache = model.newDenseCache(prompt.length);
            float[] batched = model.forward(model.newState(batch), prompt, 0, prompt.length, 0, cache);
            assertThat(batched).as("batch %d", batch).containsExactly(stepwise, within(1e-5f));
        }
    }

    @Test
    void greedyTokensMatchRunC() {
        JsonNode index = Json.read(Fixtures.path("stories260K/golden/index.json"));
        Model model = checkpoint();
        for (JsonNode c : index.get("cases")) {
            int[] expected = Json.ints(c.get("tokens"));
            int[] prompt = Json.ints(c.get("prompt_tokens"));
            int steps = c.get("steps").asInt();
            assertThat(greedy(model, prompt, steps)).as("case %s", c.get("id")).containsExactly(expected);
        }
    }

    @Test
    void ggufGreedyTokensMatchLlamaCpp() {
        JsonNode golden = Json.read(Fixtures.path("stories260K/derived/llamacpp_once_upon_a_time.json"));
        int[] expected = Json.ints(golden.get("tokens"));
        int[] prompt = Json.ints(golden.get("prompt_tokens"));
        assertThat(greedy(gguf(), prompt, expected.length - 1)).containsExactly(expected);
    }

    /**
     * run.c's loop: feed tokens from position 0, take the prompt while it lasts and argmax after it; stop at
     * {@code steps} positions or when the model emits BOS (id 1). Returns every token fed or produced.
     */
    static int[] greedy(Model model, int[] prompt, int steps) {
        KvCache cache = model.newDenseCache(steps);
        Model.State state = model.newState(1);
        int[] out = Arrays.copyOf(prompt, steps + 1);
        int n = 1;
        for (int pos = 0; pos < steps; pos++) {
            float[] logits = model.forward(state, out, pos, 1, pos, cache);
            int next = pos + 1 < prompt.length ? prompt[pos + 1] : Sampler.argmax(logits);
            if (next == 1) {
                break;
            }
            out[n++] = next;
        }
        return Arrays.copyOf(out, n);
    }
}
