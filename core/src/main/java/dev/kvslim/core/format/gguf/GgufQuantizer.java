package dev.kvslim.core.format.gguf;

import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.Quantizer;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Re-encodes the matrices of a GGUF model into another weight type, copying its metadata (tokenizer and DMS
 * settings included). One-dimensional tensors (norms) stay F32, as llama.cpp keeps them, and so does a DMS model's
 * decision adapter ({@code blk.N.dms_alpha.weight}: a few thousand values whose products are scaled by 100); a matrix
 * whose rows do not split into the target's blocks falls back (F16 for one type, llama.cpp's fallbacks in a mix) and
 * is listed in the result.
 */
public final class GgufQuantizer {

    /** What was written: the matrices not in the target type (the mix's others, or fallbacks), with their type. */
    public record Result(Path output, GgmlType target, int tensors, List<String> fallbacks) {}

    private GgufQuantizer() {}

    /**
     * llama-quantize's tensor mixes for the K-quant file types, as its {@code llama_tensor_get_type} picks them for a
     * Llama-family model without an importance matrix: the output matrix (the token embedding when it is tied) in
     * Q6_K; for the _M mixes, {@code attn_v} and {@code ffn_down} in Q6_K in the first eighth of the layers, the last
     * eighth and every third layer between ({@code use_more_bits}); every other matrix in the base type. A matrix
     * whose rows do not split into 256-value super-blocks takes llama.cpp's fallback: Q4_K -> Q5_0, Q5_K -> Q5_1,
     * Q6_K -> Q8_0.
     */
    public enum Mix {
        Q4_K_M(GgmlType.Q4_K, true, 15),
        Q5_K_M(GgmlType.Q5_K, true, 17),
        Q6_K(GgmlType.Q6_K, false, 18);

        private final GgmlType base;
        private final boolean moreBits;
        private final long fileType;

        Mix(GgmlType base, boolean moreBits, long fileType) {
            this.base = base;
            this.moreBits = moreBits;
            this.fileType = fileType;
        }

        /** The type of matrix {@code name} with rows of {@code cols} values in a model of {@code layers} layers. */
        GgmlType typeFor(String name, long cols, int layers, boolean hasOutput) {
            GgmlType type = base;
            if (name.equals("output.weight") || !hasOutput && name.equals("token_embd.weight")) {
                type = GgmlType.Q6_K;
            } else if (moreBits && (name.endsWith(".attn_v.weight") || name.endsWith(".ffn_down.weight"))) {
                int layer = layerOf(name);
                if (layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2) {
                    type = GgmlType.Q6_K;
                }
            }
            if (cols % type.blockSize != 0) {
                type = switch (type) {
                    case Q4_K -> GgmlType.Q5_0;
                    case Q5_K -> GgmlType.Q5_1;
                    default -> GgmlType.Q8_0;
                };
            }
            return type;
        }
    }

    /** The layer of a tensor named {@code blk.N....}, or -1 for the others. */
    static int layerOf(String name) {
        return name.startsWith("blk.") ? Integer.parseInt(name.substring(4, name.indexOf('.', 4))) : -1;
    }

    /** Every matrix as {@code target} (one that does not split into its blocks as F16), norms F32. */
    public static Result quantize(GgufFile source, GgmlType target, Path output) throws IOException {
        return write(
                source,
                (info, cols) -> cols % target.blockSize == 0 ? target : GgmlType.F16,
                fileType(target),
                target.blockSize > 1,
                target,
                output);
    }

    /** The matrices in llama-quantize's {@code mix} of types, norms F32. */
    public static Result quantize(GgufFile source, Mix mix, Path output) throws IOException {
        int layers = 0;
        for (String name : source.tensors().keySet()) {
            layers = Math.max(layers, layerOf(name) + 1);
        }
        int n = layers;
        boolean hasOutput = source.tensors().containsKey("output.weight");
        return write(
                source,
                (info, cols) -> mix.typeFor(info.name(), cols, n, hasOutput),
                mix.fileType,
                true,
                mix.base,
                output);
    }

    private interface TypeChoice {
        GgmlType typeFor(GgufTensorInfo info, long cols);
    }

    private static Result write(
            GgufFile source, TypeChoice choice, long fileType, boolean quantised, GgmlType target, Path output)
            throws IOException {
        GgufWriter w = new GgufWriter();
        for (GgufKv kv : source.metadata().values()) {
            w.put(kv);
        }
        w.putUInt32("general.file_type", fileType);
        if (quantised) {
            w.putUInt32("general.quantization_version", 2);
        }
        List<String> others = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            for (GgufTensorInfo info : source.tensors().values()) {
                FloatTensor t = source.tensor(info.name());
                // norms, and the DMS decision adapter (its logits are scaled by 100: a quantised row would move them)
                boolean keep = info.dims().length == 1 || info.name().contains(".dms_alpha");
                GgmlType type = keep ? GgmlType.F32 : choice.typeFor(info, t.cols());
                if (!keep && type != target) {
                    others.add(info.name() + " " + info.shape() + " -> " + type);
                }
                w.addTensor(info.name(), type, info.dims(), Quantizer.encodeInParallel(t, type, arena));
            }
            w.write(output);
        }
        return new Result(output, target, source.tensors().size(), List.copyOf(others));
    }

    /** llama.cpp's {@code llama_ftype} for a model whose matrices are mostly {@code type}. */
    public static long fileType(GgmlType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case BF16 -> 32;
            case Q6_K -> 18;
            case Q4_K, Q5_K ->
                throw new IllegalArgumentException(
                        "files mostly in " + type + " are written as llama-quantize's mixes ("
                                + Mix.class.getSimpleName() + "): q4_k_m or q5_k_m");
            case Q2_K, Q3_K, IQ4_NL ->
                throw new IllegalArgumentException("writing " + type + " files is not supported yet");
        };
    }
}
