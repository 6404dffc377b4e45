package dev.kvslim.core.format.hf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.format.convert.ModelConverter;
import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufModels;
import dev.kvslim.core.format.gguf.GgufQuantizer;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.DmsRule;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvShape;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.testing.Json;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;

/**
 * DMS checkpoints in the published layouts against a plain PyTorch forward that applies each one's visibility rule to
 * the whole sequence (tools/dms_parity/make_fixtures.py wrote both; its decisions are at least 0.05 from the
 * threshold). NVIDIA Model-Optimizer's, as its {@code extract.py} saves them: config.json without
 * {@code architectures}, an {@code auto_map} to {@code Qwen3ForCausalLMDMS}, the {@code dms_*} keys, bfloat16
 * weights, the decision from a query channel or from the {@code dms_proj_alpha} adapter, per KV head or per layer.
 * shisa-ai/FastDMS's: a plain Llama folder with {@code dms_metadata.json}, a decision marking its own token and a
 * dense prompt. The engine prefills in chunks and then decodes token by token through its paged DMS cache, evicting
 * as it goes: every position's logits, the greedy continuation and the tokens each (layer, KV head) keeps at the end
 * agree.
 */
class DmsCheckpointParityTest {

    static Path folder(String name) {
        try {
            return Path.of(DmsCheckpointParityTest.class
                    .getResource("/dms-parity/" + name)
                    .toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("no DMS parity folder " + name, e);
        }
    }

    @ParameterizedTest(name = "{0} prefill chunk {5}")
    @CsvSource({
        "nvidia-qwen3-channel, QUERY_CHANNEL, false, REFERENCE, Qwen3ForCausalLM, 30",
        "nvidia-qwen3-channel, QUERY_CHANNEL, false, REFERENCE, Qwen3ForCausalLM, 5",
        "nvidia-qwen3-channel, QUERY_CHANNEL, false, REFERENCE, Qwen3ForCausalLM, 1",
        "nvidia-qwen3-adapter, ADAPTER, false, REFERENCE, Qwen3ForCausalLM, 30",
        "nvidia-qwen3-adapter, ADAPTER, false, REFERENCE, Qwen3ForCausalLM, 7",
        "nvidia-qwen3-adapter-layer, ADAPTER, true, REFERENCE, Qwen3ForCausalLM, 30",
        "nvidia-qwen3-adapter-layer, ADAPTER, true, REFERENCE, Qwen3ForCausalLM, 3",
        "fastdms-llama, QUERY_CHANNEL, false, FASTDMS, LlamaForCausalLM, 30",
        "fastdms-llama, QUERY_CHANNEL, false, FASTDMS, LlamaForCausalLM, 7",
        "fastdms-llama, QUERY_CHANNEL, false, FASTDMS, LlamaForCausalLM, 4"
    })
    void logitsGreedyTokensAndKeptTokensMatchTheReferenceRule(
            String name, DmsConfig.Variant variant, boolean perLayer, DmsRule rule, String architecture, int chunk) {
        LoadedModel loaded = ModelLoader.load(folder(name), null);
        DmsConfig dms = loaded.model().config().dms();
        assertThat(dms).isNotNull();
        assertThat(dms.window()).isEqualTo(4);
        assertThat(dms.variant()).isEqualTo(variant);
        assertThat(dms.perLayer()).isEqualTo(perLayer);
        assertThat(dms.rule()).isEqualTo(rule);
        assertThat(loaded.model().config().architecture()).isEqualTo(architecture);
        JsonNode expected = Json.read(folder(name).resolve("expected.json"));
        // the folder's own tokenizer gives the prompt's ids
        assertThat(loaded.tokenizer().encode("Once upon a time, there was a", true))
                .containsExactly(Json.ints(expected.get("prompt")));
        check(name, loaded.model(), expected, chunk, 2e-5f);
    }

    /**
     * {@code convert --to gguf} keeps the DMS keys and adapter tensors (the converted file gives the same logits and
     * evictions), and {@code quantize} keeps them too: a Q8_0 copy has the same DMS settings and evicts.
     */
    @ParameterizedTest
    @CsvSource({"nvidia-qwen3-channel", "nvidia-qwen3-adapter", "nvidia-qwen3-adapter-layer", "fastdms-llama"})
    void convertedAndQuantisedGgufKeepTheDmsSettings(String name, @TempDir Path dir) throws Exception {
        // weights and settings without the tokenizer: the demo's byte-level one has no GGUF pre-tokenizer name
        Path weights = Files.createDirectory(dir.resolve(name));
        for (String file : new String[] {"config.json", "model.safetensors", "dms_metadata.json"}) {
            if (Files.exists(folder(name).resolve(file))) {
                Files.copy(folder(name).resolve(file), weights.resolve(file));
            }
        }
        Path gguf = dir.resolve(name + ".gguf");
        ModelConverter.folderToGguf(weights, gguf);
        Model converted = GgufModels.load(GgufFile.read(gguf));
        JsonNode expected = Json.read(folder(name).resolve("expected.json"));
        assertThat(converted.config().dms())
                .isEqualTo(ModelLoader.load(folder(name), null).model().config().dms());
        check(name + " as GGUF", converted, expected, 30, 2e-5f);
        Path q8 = dir.resolve(name + "-q8_0.gguf");
        GgufQuantizer.quantize(GgufFile.read(gguf), GgmlType.Q8_0, q8);
        GgufFile q8File = GgufFile.read(q8);
        // the decision adapter (products scaled by 100) stays F32; the other matrices take the type
        q8File.tensors().values().stream()
                .filter(t -> t.name().contains("dms_alpha") || t.name().endsWith("attn_q.weight"))
                .forEach(t -> assertThat(q8File.tensor(t.name()).type())
                        .as(t.name())
                        .isEqualTo(t.name().contains("dms_alpha") ? GgmlType.F32 : GgmlType.Q8_0));
        Model quantised = GgufModels.load(q8File);
        assertThat(quantised.config().dms()).isEqualTo(converted.config().dms());
        // 8-bit weights move the decision logits (scale 100) by more than the fixture's margin, so only the settings
        // and that the copy evicts are asserted here
        int[] prompt = Json.ints(expected.get("prompt")), generated = Json.ints(expected.get("generated"));
        KvShape shape = quantised.config().kvShape();
        PagedKvCache cache = KvCacheSpec.dms(shape)
                .newCache(
                        shape,
                        new BlockPool(quantised.config().headSize(), 16, 1L << 22),
                        prompt.length + generated.length);
        Model.State state = quantised.newState(prompt.length);
        quantised.forward(state, prompt, 0, prompt.length, 0, cache);
        for (int i = 0; i < generated.length; i++) {
            quantised.forward(state, generated, i, 1, prompt.length + i, cache);
        }
        assertThat(cache.compressionRatio()).isGreaterThan(1.1);
        cache.release();
    }

    /**
     * Prefills the prompt in chunks of {@code chunk}, then decodes the reference's continuation token by token through
     * a paged DMS cache: the logits at every position (within {@code tolerance}), the greedy choices and the tokens
     * each (layer, KV head) keeps at the end agree with the reference.
     */
    private static void check(String name, Model model, JsonNode expected, int chunk, float tolerance) {
        int[] prompt = Json.ints(expected.get("prompt"));
        int[] generated = Json.ints(expected.get("generated"));
        int[] all = new int[prompt.length + generated.length];
        System.arraycopy(prompt, 0, all, 0, prompt.length);
        System.arraycopy(generated, 0, all, prompt.length, generated.length);

        KvShape shape = model.config().kvShape();
        BlockPool pool = new BlockPool(
                model.config().headSize(),
                PagedKvCache.blockSizeFor(model.config().contextLength()),
                1L << 22);
        PagedKvCache cache = KvCacheSpec.dms(shape).newCache(shape, pool, all.length);
        Model.State state = model.newState(chunk);
        for (int pos = 0, n; pos < all.length; pos += n) {
            n = pos < prompt.length ? Math.min(chunk, prompt.length - pos) : 1;
            float[] logits = model.forward(state, all, pos, n, pos, cache);
            int last = pos + n - 1;
            assertThat(logits)
                    .as("%s logits at position %d", name, last)
                    .containsExactly(Json.floats(expected.get("logits").get(last)), within(tolerance));
            if (last + 1 < all.length && last + 1 >= prompt.length) {
                assertThat(Sampler.argmax(logits))
                        .as("%s greedy token after %d", name, last)
                        .isEqualTo(all[last + 1]);
            }
        }
        JsonNode kept = expected.get("kept");
        long evicted = 0;
        for (int l = 0; l < model.config().layers(); l++) {
            for (int h = 0; h < shape.kvHeads(); h++) {
                assertThat(cache.liveTokens(l, h))
                        .as("%s layer %d KV head %d", name, l, h)
                        .isEqualTo(kept.get(l).get(h).asInt());
                evicted += all.length - cache.liveTokens(l, h);
            }
        }
        assertThat(evicted).isEqualTo(expected.get("evicted_entries").asLong()).isPositive();
        cache.release();
    }
}
