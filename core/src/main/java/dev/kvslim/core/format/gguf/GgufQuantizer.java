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
 * Re-encodes the matrices of a GGUF model into another weight type, copying its metadata (tokenizer
 * included). One-dimensional tensors (norms) stay F32, as llama.cpp keeps them; a matrix whose rows do not
 * split into the target's blocks falls back to F16 (block types) and is listed in the result.
 */
public final class GgufQuantizer {

    /** What was written: the tensors that could not take the target type. */
    public record Result(Path output, GgmlType target, int tensors, List<String> fallbacks) {}

    private GgufQuantizer() {}

    public static Result quantize(GgufFile source, GgmlType target, Path output) throws IOException {
        GgufWriter w = new GgufWriter();
        for (GgufKv kv : source.metadata().values()) {
            w.put(kv);
        }
        w.putUInt32("general.file_type", fileType(target));
        if (target.blockSize > 1) {
            w.putUInt32("general.quantization_version", 2);
        }
        List<String> fallbacks = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            for (GgufTensorInfo info : source.tensors().values()) {
                FloatTensor t = source.tensor(info.name());
                GgmlType type = info.dims().length == 1 ? GgmlType.F32 : target;
                if (t.cols() % type.blockSize != 0) {
                    fallbacks.add(info.name() + " " + info.shape() + " -> F16");
                    type = GgmlType.F16;
                }
                w.addTensor(info.name(), type, info.dims(), Quantizer.encode(t, type, arena));
            }
            w.write(output);
        }
        return new Result(output, target, source.tensors().size(), List.copyOf(fallbacks));
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
            case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL ->
                throw new IllegalArgumentException("writing " + type + " files is not supported yet");
        };
    }
}
