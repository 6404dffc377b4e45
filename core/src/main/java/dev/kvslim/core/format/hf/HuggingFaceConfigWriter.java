package dev.kvslim.core.format.hf;

import dev.kvslim.core.kv.DmsRule;
import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes the config.json (and generation_config.json) of a Hugging Face model folder that {@link HuggingFaceModels}
 * reads back into the same {@link LlamaConfig}: the converter and the trainer both save models through it.
 */
public final class HuggingFaceConfigWriter {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private HuggingFaceConfigWriter() {}

    /**
     * config.json's keys for {@code c} saved as {@code hfArch} ({@code LlamaForCausalLM}, ...) with weights of
     * {@code torchDtype}; {@code bos}/{@code eos} below 0 are left out.
     */
    public static Map<String, Object> config(
            LlamaConfig c, String hfArch, String modelType, String torchDtype, long bos, long eos) {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("architectures", List.of(hfArch));
        config.put("model_type", modelType);
        config.put("hidden_size", c.dim());
        config.put("intermediate_size", c.hiddenDim());
        config.put("num_hidden_layers", c.layers());
        config.put("num_attention_heads", c.heads());
        config.put("num_key_value_heads", c.kvHeads());
        config.put("head_dim", c.headSize());
        config.put("vocab_size", c.vocabSize());
        config.put("max_position_embeddings", c.contextLength());
        config.put("rms_norm_eps", c.normEps());
        config.put("rope_theta", c.ropeTheta());
        config.put("tie_word_embeddings", c.tiedEmbeddings());
        if (c.ropeScaling() != null) {
            LlamaConfig.RopeScaling s = c.ropeScaling();
            config.put(
                    "rope_scaling",
                    Map.of(
                            "rope_type",
                            "llama3",
                            "factor",
                            s.factor(),
                            "low_freq_factor",
                            s.lowFreqFactor(),
                            "high_freq_factor",
                            s.highFreqFactor(),
                            "original_max_position_embeddings",
                            s.originalContextLength()));
        }
        if (c.slidingWindow() > 0) {
            config.put("sliding_window", c.slidingWindow());
        }
        if (c.dms() != null) {
            config.put("dms_window_size", c.dms().window());
            config.put("dms_alpha_scale", c.dms().scale());
            config.put("dms_initial_alpha_offset", c.dms().offset());
            config.put("dms_separate_alpha", c.dms().variant() == DmsConfig.Variant.ADAPTER);
            config.put("dms_alpha_per", c.dms().perLayer() ? "layer" : "head");
            if (c.dms().rule() == DmsRule.FASTDMS) {
                config.put(
                        "dms_rule", "fastdms"); // KVSlim's key: FastDMS itself keeps its settings in dms_metadata.json
            }
        }
        config.put("torch_dtype", torchDtype);
        if (bos >= 0) {
            config.put("bos_token_id", bos);
        }
        if (eos >= 0) {
            config.put("eos_token_id", eos);
        }
        return config;
    }

    /** Writes config.json and generation_config.json (with the BOS/EOS ids, when known) into {@code dir}. */
    public static void write(
            Path dir, LlamaConfig c, String hfArch, String modelType, String torchDtype, long bos, long eos)
            throws IOException {
        JSON.writerWithDefaultPrettyPrinter()
                .writeValue(dir.resolve("config.json").toFile(), config(c, hfArch, modelType, torchDtype, bos, eos));
        Map<String, Object> generation = new LinkedHashMap<>();
        if (bos >= 0) {
            generation.put("bos_token_id", bos);
        }
        if (eos >= 0) {
            generation.put("eos_token_id", eos);
        }
        JSON.writerWithDefaultPrettyPrinter()
                .writeValue(dir.resolve("generation_config.json").toFile(), generation);
    }
}
