package dev.kvslim.core.format.hf;

import dev.kvslim.core.io.JsonFiles;
import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.kv.DmsRule;
import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.LlamaWeights;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.model.RopeStyle;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.Tensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import tools.jackson.databind.JsonNode;

/**
 * Loads a Hugging Face model folder ({@code config.json} plus safetensors) of the Llama family as
 * {@code transformers} defines it: Llama (incl. Llama 3.1 RoPE scaling), Mistral (incl. a sliding window),
 * Qwen2 (query/key/value biases) and Qwen3 (per-head query/key RMSNorm). Hugging Face models pair RoPE channels
 * by rotating halves.
 */
public final class HuggingFaceModels {

    /** Tensor names of the DMS adapter (variant B) within a layer, as NVIDIA's reference names them. */
    public static final String DMS_NORM = "self_attn.dms_proj_alpha_norm.weight";

    public static final String DMS_PROJ = "self_attn.dms_proj_alpha.weight";

    /** The file shisa-ai/FastDMS's checkpoints keep their DMS settings in, beside config.json. */
    static final String FASTDMS_METADATA = "dms_metadata.json";

    /** NVIDIA Model-Optimizer's Qwen3 with DMS ({@code modeling_qwen3_dms.py}). */
    static final String NVIDIA_QWEN3_DMS = "Qwen3ForCausalLMDMS";

    public static final List<String> ARCHITECTURES =
            List.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM");

    private HuggingFaceModels() {}

    /** Whether {@code path} looks like a model folder (has a config.json). */
    public static boolean isModelFolder(Path path) {
        return Files.isDirectory(path) && Files.exists(path.resolve("config.json"));
    }

    /** The configuration in {@code folder}'s config.json, without loading weights. */
    public static LlamaConfig readConfig(Path folder) {
        Path configFile = folder.resolve("config.json");
        JsonNode json = JsonFiles.readObject(configFile);
        return config(configFile, json, architecture(configFile, json));
    }

    public static Model load(Path folder) {
        Path configFile = folder.resolve("config.json");
        JsonNode json = JsonFiles.readObject(configFile);
        String arch = architecture(configFile, json);
        LlamaConfig config = config(configFile, json, arch);
        SafetensorsWeights w = SafetensorsWeights.open(folder);
        int L = config.layers();
        // every layer holds tensors of its own: a count beyond the folder's tensors is corrupt, and is caught before
        // anything is sized by it (a smaller mismatch names the missing tensors below)
        if (L > w.names().size()) {
            throw new ModelFormatException(
                    configFile,
                    "num_hidden_layers is " + L + ", more layers than the "
                            + w.names().size() + " tensors of the folder can hold");
        }
        boolean qkvBias = arch.equals("Qwen2ForCausalLM");
        boolean qkNorm = arch.equals("Qwen3ForCausalLM");
        w.requireAll(requiredTensors(config, qkvBias, qkNorm));
        rejectUnsupported(folder, w);

        FloatTensor emb = w.tensor("model.embed_tokens.weight");
        FloatTensor[] wq = matrices(L, l -> w.tensor(layer(l) + "self_attn.q_proj.weight"));
        FloatTensor[] wk = matrices(L, l -> w.tensor(layer(l) + "self_attn.k_proj.weight"));
        FloatTensor[] wv = matrices(L, l -> w.tensor(layer(l) + "self_attn.v_proj.weight"));
        FloatTensor[] wo = matrices(L, l -> w.tensor(layer(l) + "self_attn.o_proj.weight"));
        FloatTensor[] w1 = matrices(L, l -> w.tensor(layer(l) + "mlp.gate_proj.weight"));
        FloatTensor[] w2 = matrices(L, l -> w.tensor(layer(l) + "mlp.down_proj.weight"));
        FloatTensor[] w3 = matrices(L, l -> w.tensor(layer(l) + "mlp.up_proj.weight"));
        float[][] attnNorm = vectors(w, L, "input_layernorm.weight");
        float[][] ffnNorm = vectors(w, L, "post_attention_layernorm.weight");
        float[] finalNorm = Tensors.toArray(w.tensor("model.norm.weight"));
        FloatTensor cls = config.tiedEmbeddings() ? emb : w.tensor("lm_head.weight");
        boolean adapter = config.dms() != null && config.dms().variant() == DmsConfig.Variant.ADAPTER;
        if (adapter) {
            List<String> names = new ArrayList<>();
            for (int l = 0; l < L; l++) {
                names.add(layer(l) + DMS_NORM);
                names.add(layer(l) + DMS_PROJ);
            }
            w.requireAll(names);
        }
        LlamaWeights weights = new LlamaWeights(
                emb,
                attnNorm,
                wq,
                wk,
                wv,
                wo,
                ffnNorm,
                w1,
                w2,
                w3,
                finalNorm,
                cls,
                qkvBias ? vectors(w, L, "self_attn.q_proj.bias") : null,
                qkvBias ? vectors(w, L, "self_attn.k_proj.bias") : null,
                qkvBias ? vectors(w, L, "self_attn.v_proj.bias") : null,
                qkNorm ? vectors(w, L, "self_attn.q_norm.weight") : null,
                qkNorm ? vectors(w, L, "self_attn.k_norm.weight") : null,
                adapter ? vectors(w, L, DMS_NORM) : null,
                adapter ? matrices(L, l -> w.tensor(layer(l) + DMS_PROJ)) : null);
        try {
            return new Model(config, weights);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(folder, e.getMessage(), e);
        }
    }

    private static String layer(int l) {
        return "model.layers." + l + ".";
    }

    private static List<String> requiredTensors(LlamaConfig c, boolean qkvBias, boolean qkNorm) {
        List<String> names = new ArrayList<>(List.of("model.embed_tokens.weight", "model.norm.weight"));
        if (!c.tiedEmbeddings()) {
            names.add("lm_head.weight");
        }
        for (int l = 0; l < c.layers(); l++) {
            for (String t : List.of(
                    "input_layernorm",
                    "post_attention_layernorm",
                    "self_attn.q_proj",
                    "self_attn.k_proj",
                    "self_attn.v_proj",
                    "self_attn.o_proj",
                    "mlp.gate_proj",
                    "mlp.up_proj",
                    "mlp.down_proj")) {
                names.add(layer(l) + t + ".weight");
            }
            if (qkvBias) {
                for (String t : List.of("q_proj", "k_proj", "v_proj")) {
                    names.add(layer(l) + "self_attn." + t + ".bias");
                }
            }
            if (qkNorm) {
                names.add(layer(l) + "self_attn.q_norm.weight");
                names.add(layer(l) + "self_attn.k_norm.weight");
            }
        }
        return names;
    }

    /** Biases the forward pass has no place for must not be dropped silently. */
    private static void rejectUnsupported(Path folder, SafetensorsWeights w) {
        for (String name : w.names()) {
            boolean unsupported = name.endsWith("o_proj.bias")
                    || name.endsWith("dms_proj_alpha.bias")
                    || name.startsWith("model.layers.") && name.contains(".mlp.") && name.endsWith(".bias");
            if (unsupported) {
                throw new ModelFormatException(
                        folder,
                        "tensor '" + name + "' is a bias KVSlim does not apply"
                                + " (output-projection and MLP biases are not supported)");
            }
        }
    }

    private static FloatTensor[] matrices(int layers, IntFunction<FloatTensor> get) {
        FloatTensor[] out = new FloatTensor[layers];
        for (int l = 0; l < layers; l++) {
            out[l] = get.apply(l);
        }
        return out;
    }

    private static float[][] vectors(SafetensorsWeights w, int layers, String suffix) {
        float[][] out = new float[layers][];
        for (int l = 0; l < layers; l++) {
            out[l] = Tensors.toArray(w.tensor(layer(l) + suffix));
        }
        return out;
    }

    /**
     * The architecture a config.json names: the first of {@code architectures}, or, where that list is absent, the
     * class its {@code auto_map} loads for causal LM. NVIDIA's DMS checkpoints are saved that way (Model-Optimizer's
     * {@code extract.py} drops {@code architectures} and maps to {@code Qwen3ForCausalLMDMS}); that class is Qwen3
     * with the DMS decisions the {@code dms_*} keys describe, so it is read as {@code Qwen3ForCausalLM}.
     */
    static String architecture(Path file, JsonNode json) {
        JsonNode archs = json.get("architectures");
        String arch;
        if (archs != null && archs.isArray() && !archs.isEmpty()) {
            arch = archs.get(0).asString();
        } else if (json.path("auto_map").path("AutoModelForCausalLM").isString()) {
            String target = json.path("auto_map").path("AutoModelForCausalLM").asString();
            arch = target.substring(target.lastIndexOf('.') + 1);
        } else {
            throw new ModelFormatException(
                    file,
                    "has no \"architectures\" list nor an auto_map AutoModelForCausalLM (supported: "
                            + String.join(", ", ARCHITECTURES) + ")");
        }
        if (arch.equals(NVIDIA_QWEN3_DMS)) {
            if (!json.has("dms_window_size")) {
                throw new ModelFormatException(file, "names " + NVIDIA_QWEN3_DMS + " but has no dms_window_size");
            }
            arch = "Qwen3ForCausalLM";
        }
        if (!ARCHITECTURES.contains(arch)) {
            throw new ModelFormatException(
                    file,
                    "architecture '" + arch + "' is not supported (supported: " + String.join(", ", ARCHITECTURES)
                            + ")");
        }
        return arch;
    }

    static LlamaConfig config(Path file, JsonNode json, String arch) {
        int dim = requireInt(file, json, "hidden_size");
        int heads = requireInt(file, json, "num_attention_heads");
        int kvHeads = optInt(json, "num_key_value_heads", heads);
        if (heads <= 0 || dim <= 0) {
            throw new ModelFormatException(
                    file, "hidden_size " + dim + " and num_attention_heads " + heads + " must be positive");
        }
        int headSize = optInt(json, "head_dim", dim / heads);
        if (json.has("head_dim") && json.get("head_dim").isNull()) {
            headSize = dim / heads;
        }
        if (!arch.equals("Qwen3ForCausalLM") && optBool(json, "attention_bias", false)) {
            throw new ModelFormatException(file, "attention_bias=true is not supported for " + arch);
        }
        if (optBool(json, "mlp_bias", false)) {
            throw new ModelFormatException(file, "mlp_bias=true is not supported");
        }
        int window = 0;
        if (arch.equals("MistralForCausalLM") || optBool(json, "use_sliding_window", false)) {
            window = optInt(json, "sliding_window", 0);
        }
        try {
            return new LlamaConfig(
                    arch,
                    dim,
                    requireInt(file, json, "intermediate_size"),
                    requireInt(file, json, "num_hidden_layers"),
                    heads,
                    kvHeads,
                    headSize,
                    requireInt(file, json, "vocab_size"),
                    optInt(json, "max_position_embeddings", 2048),
                    (float) optDouble(json, "rms_norm_eps", 1e-6),
                    (float) optDouble(json, "rope_theta", 10000),
                    RopeStyle.HALF,
                    optBool(json, "tie_word_embeddings", false),
                    ropeScaling(file, json.get("rope_scaling")),
                    window,
                    null,
                    dms(file, json));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, "invalid configuration: " + e.getMessage());
        }
    }

    /**
     * DMS settings from the {@code dms_*} keys NVIDIA's reference writes into config.json, or null when the model
     * has none (or has eviction disabled).
     */
    private static DmsConfig dms(Path file, JsonNode json) {
        Path metadata = file.resolveSibling(FASTDMS_METADATA);
        if (Files.isRegularFile(metadata)) {
            JsonNode meta = JsonFiles.readObject(metadata);
            return fastDms(metadata, meta.path("config").isObject() ? meta.get("config") : meta);
        }
        if (json.path("dms_rule").isString() && json.get("dms_rule").asString().equals("fastdms")) {
            return fastDms(file, json);
        }
        if (!json.has("dms_window_size") || optBool(json, "dms_disable_eviction", false)) {
            return null;
        }
        String per = json.has("dms_alpha_per") ? json.get("dms_alpha_per").asString() : "head";
        if (!per.equals("head") && !per.equals("layer")) {
            throw new ModelFormatException(file, "dms_alpha_per must be \"head\" or \"layer\", is \"" + per + "\"");
        }
        try {
            return new DmsConfig(
                    requireInt(file, json, "dms_window_size"),
                    (float) optDouble(json, "dms_alpha_scale", 100),
                    (float) optDouble(json, "dms_initial_alpha_offset", 5),
                    optBool(json, "dms_separate_alpha", false)
                            ? DmsConfig.Variant.ADAPTER
                            : DmsConfig.Variant.QUERY_CHANNEL,
                    per.equals("layer"));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, e.getMessage());
        }
    }

    /**
     * FastDMS's settings, as its loader ({@code fastdms/engine/dms.py}) reads them from {@code dms_metadata.json} (or
     * its {@code config} object) or from config.json: {@code window_size} or {@code dms_window_size} (default 256),
     * {@code alpha_scale} or {@code dms_alpha_scale} (100), {@code alpha_offset}, {@code dms_alpha_offset} or
     * {@code dms_initial_alpha_offset} (5). Its decisions always come from the borrowed query channel, one per KV head,
     * under its own rule ({@link DmsRule#FASTDMS}).
     */
    private static DmsConfig fastDms(Path file, JsonNode json) {
        try {
            return new DmsConfig(
                    first(json, 256, "window_size", "dms_window_size").intValue(),
                    first(json, 100, "alpha_scale", "dms_alpha_scale").floatValue(),
                    first(json, 5, "alpha_offset", "dms_alpha_offset", "dms_initial_alpha_offset")
                            .floatValue(),
                    DmsConfig.Variant.QUERY_CHANNEL,
                    false,
                    DmsRule.FASTDMS);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, e.getMessage());
        }
    }

    /** The first of {@code keys} that {@code json} holds as a number, else {@code fallback}. */
    private static Number first(JsonNode json, Number fallback, String... keys) {
        for (String key : keys) {
            if (json.path(key).isNumber()) {
                return json.get(key).numberValue();
            }
        }
        return fallback;
    }

    private static LlamaConfig.RopeScaling ropeScaling(Path file, JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        JsonNode typeNode = node.has("rope_type") ? node.get("rope_type") : node.get("type");
        String type = typeNode == null ? "" : typeNode.asString();
        if (type.equals("default")) {
            return null;
        }
        if (!type.equals("llama3")) {
            throw new ModelFormatException(
                    file, "rope_scaling type '" + type + "' is not supported (supported: llama3)");
        }
        return new LlamaConfig.RopeScaling(
                (float) requireDouble(file, node, "factor"),
                (float) requireDouble(file, node, "low_freq_factor"),
                (float) requireDouble(file, node, "high_freq_factor"),
                requireInt(file, node, "original_max_position_embeddings"));
    }

    static int requireInt(Path file, JsonNode json, String key) {
        JsonNode v = json.get(key);
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new ModelFormatException(
                    file, "\"" + key + "\" must be an integer, is " + (v == null ? "missing" : v));
        }
        return v.asInt();
    }

    private static double requireDouble(Path file, JsonNode json, String key) {
        JsonNode v = json.get(key);
        if (v == null || !v.isNumber()) {
            throw new ModelFormatException(file, "\"" + key + "\" must be a number, is " + (v == null ? "missing" : v));
        }
        return v.asDouble();
    }

    private static int optInt(JsonNode json, String key, int fallback) {
        JsonNode v = json.get(key);
        return v == null || v.isNull() || !v.canConvertToInt() ? fallback : v.asInt();
    }

    private static double optDouble(JsonNode json, String key, double fallback) {
        JsonNode v = json.get(key);
        return v == null || !v.isNumber() ? fallback : v.asDouble();
    }

    private static boolean optBool(JsonNode json, String key, boolean fallback) {
        JsonNode v = json.get(key);
        return v == null || !v.isBoolean() ? fallback : v.asBoolean();
    }
}
