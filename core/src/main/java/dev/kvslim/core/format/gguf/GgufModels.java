package dev.kvslim.core.format.gguf;

import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.kv.DmsRule;
import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.LlamaWeights;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.model.RopeStyle;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.Tensors;
import java.util.List;

/**
 * Builds a {@link Model} from a GGUF file with llama.cpp's tensor names and metadata keys: architecture
 * {@code llama} (interleaved RoPE: llama.cpp's converter permutes the Hugging Face Q/K rows to match; Llama 3.1
 * frequency factors in {@code rope_freqs.weight}), {@code qwen2} (rotate-half RoPE, Q/K/V biases) and
 * {@code qwen3} (rotate-half RoPE, per-head Q/K norms).
 */
public final class GgufModels {

    public static final List<String> ARCHITECTURES = List.of("llama", "qwen2", "qwen3");

    private GgufModels() {}

    public static Model load(GgufFile f) {
        String arch = f.requireString("general.architecture");
        if (!ARCHITECTURES.contains(arch)) {
            throw f.fail(
                    "unsupported architecture '" + arch + "' (supported: " + String.join(", ", ARCHITECTURES) + ")");
        }
        if (!f.tensors().containsKey("token_embd.weight")) {
            throw f.fail("has no tensor 'token_embd.weight': a vocabulary-only GGUF cannot be run as a model");
        }
        LlamaConfig config = config(f, arch);
        int L = config.layers();
        // every layer holds tensors of its own: a count beyond the file's tensors is corrupt, and is caught before
        // anything is sized by it (a smaller mismatch names the missing tensors below)
        if (L > f.tensors().size()) {
            throw f.fail(arch + ".block_count is " + L + ", more layers than its "
                    + f.tensors().size() + " tensors can hold");
        }
        FloatTensor emb = f.tensor("token_embd.weight");
        float[][] attnNorm = new float[L][], ffnNorm = new float[L][];
        FloatTensor[] wq = new FloatTensor[L],
                wk = new FloatTensor[L],
                wv = new FloatTensor[L],
                wo = new FloatTensor[L];
        FloatTensor[] w1 = new FloatTensor[L], w2 = new FloatTensor[L], w3 = new FloatTensor[L];
        for (int l = 0; l < L; l++) {
            String b = "blk." + l + ".";
            attnNorm[l] = Tensors.toArray(f.tensor(b + "attn_norm.weight"));
            ffnNorm[l] = Tensors.toArray(f.tensor(b + "ffn_norm.weight"));
            wq[l] = f.tensor(b + "attn_q.weight");
            wk[l] = f.tensor(b + "attn_k.weight");
            wv[l] = f.tensor(b + "attn_v.weight");
            wo[l] = f.tensor(b + "attn_output.weight");
            w1[l] = f.tensor(b + "ffn_gate.weight");
            w2[l] = f.tensor(b + "ffn_down.weight");
            w3[l] = f.tensor(b + "ffn_up.weight");
        }
        float[] finalNorm = Tensors.toArray(f.tensor("output_norm.weight"));
        FloatTensor cls = config.tiedEmbeddings() ? emb : f.tensor("output.weight");
        boolean bias = arch.equals("qwen2");
        boolean adapter = config.dms() != null && config.dms().variant() == DmsConfig.Variant.ADAPTER;
        boolean norms = arch.equals("qwen3");
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
                bias ? vectors(f, L, "attn_q.bias") : null,
                bias ? vectors(f, L, "attn_k.bias") : null,
                bias ? vectors(f, L, "attn_v.bias") : null,
                norms ? vectors(f, L, "attn_q_norm.weight") : null,
                norms ? vectors(f, L, "attn_k_norm.weight") : null,
                adapter ? vectors(f, L, "dms_alpha_norm.weight") : null,
                adapter ? dmsProjections(f, L) : null);
        try {
            return new Model(config, weights);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(f.path(), e.getMessage(), e);
        }
    }

    private static float[][] vectors(GgufFile f, int layers, String suffix) {
        float[][] out = new float[layers][];
        for (int l = 0; l < layers; l++) {
            out[l] = Tensors.toArray(f.tensor("blk." + l + "." + suffix));
        }
        return out;
    }

    private static FloatTensor[] dmsProjections(GgufFile f, int layers) {
        FloatTensor[] out = new FloatTensor[layers];
        for (int l = 0; l < layers; l++) {
            out[l] = f.tensor("blk." + l + ".dms_alpha.weight");
        }
        return out;
    }

    /** KVSlim's DMS keys ({@code ARCH.dms.*}), the GGUF twin of config.json's {@code dms_*}; null when absent. */
    private static DmsConfig dms(GgufFile f, String arch) {
        String p = arch + ".dms.";
        if (!f.has(p + "window_size")) {
            return null;
        }
        String variant = f.getString(p + "variant", "query_channel");
        String per = f.getString(p + "alpha_per", "head");
        String rule = f.getString(p + "rule", "reference");
        if (!variant.equals("query_channel") && !variant.equals("adapter")
                || !per.equals("head") && !per.equals("layer")
                || !rule.equals("reference") && !rule.equals("fastdms")) {
            throw f.fail("DMS variant '" + variant + "' / alpha_per '" + per + "' / rule '" + rule
                    + "' not understood (query_channel or adapter; head or layer; reference or fastdms)");
        }
        try {
            return new DmsConfig(
                    f.getInt(p + "window_size", 0),
                    f.getFloat(p + "alpha_scale", 100f),
                    f.getFloat(p + "alpha_offset", 5f),
                    variant.equals("adapter") ? DmsConfig.Variant.ADAPTER : DmsConfig.Variant.QUERY_CHANNEL,
                    per.equals("layer"),
                    rule.equals("fastdms") ? DmsRule.FASTDMS : DmsRule.REFERENCE);
        } catch (IllegalArgumentException e) {
            throw f.fail(e.getMessage());
        }
    }

    /** Llama 3.1's per-pair frequency divisors, as llama.cpp stores them in {@code rope_freqs.weight}, or null. */
    private static float[] ropeFactors(GgufFile f, int headSize) {
        if (!f.tensors().containsKey("rope_freqs.weight")) {
            return null;
        }
        float[] factors = Tensors.toArray(f.tensor("rope_freqs.weight"));
        if (factors.length != headSize / 2) {
            throw f.fail("rope_freqs.weight has " + factors.length + " values, expected " + headSize / 2);
        }
        return factors;
    }

    static LlamaConfig config(GgufFile f, String arch) {
        int dim = f.requireInt(arch + ".embedding_length");
        int heads = f.requireInt(arch + ".attention.head_count");
        int kvHeads = f.getInt(arch + ".attention.head_count_kv", heads);
        if (dim <= 0 || heads <= 0) {
            throw f.fail("embedding length " + dim + " and head count " + heads + " must be positive");
        }
        if (dim % heads != 0 && !f.has(arch + ".attention.key_length")) {
            throw f.fail("embedding length " + dim + " is not a multiple of the head count " + heads);
        }
        int headSize = f.getInt(arch + ".attention.key_length", dim / heads);
        int valueSize = f.getInt(arch + ".attention.value_length", headSize);
        if (valueSize != headSize) {
            throw f.fail("key length " + headSize + " differs from value length " + valueSize + ": not supported");
        }
        int ropeDims = f.getInt(arch + ".rope.dimension_count", headSize);
        if (ropeDims != headSize) {
            throw f.fail("partial rotary embedding (" + ropeDims + " of " + headSize + " channels) is not supported");
        }
        long vocab = f.tensors().get("token_embd.weight").elements() / dim;
        if (f.has(arch + ".rope.scaling.type")
                && !f.getString(arch + ".rope.scaling.type", "none").equals("none")) {
            throw f.fail("RoPE scaling '" + f.getString(arch + ".rope.scaling.type", "") + "' is not supported");
        }
        try {
            return new LlamaConfig(
                    arch,
                    dim,
                    f.requireInt(arch + ".feed_forward_length"),
                    f.requireInt(arch + ".block_count"),
                    heads,
                    kvHeads,
                    headSize,
                    Math.toIntExact(vocab),
                    f.getInt(arch + ".context_length", 2048),
                    f.getFloat(arch + ".attention.layer_norm_rms_epsilon", 1e-5f),
                    f.getFloat(arch + ".rope.freq_base", 10000f),
                    arch.equals("llama") ? RopeStyle.INTERLEAVED : RopeStyle.HALF,
                    !f.tensors().containsKey("output.weight"),
                    null,
                    f.getInt(arch + ".attention.sliding_window", 0),
                    ropeFactors(f, headSize),
                    dms(f, arch));
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw f.fail("invalid hyper-parameters: " + e.getMessage());
        }
    }
}
