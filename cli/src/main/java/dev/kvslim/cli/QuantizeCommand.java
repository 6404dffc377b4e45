package dev.kvslim.cli;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufQuantizer;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.Quantizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Re-encodes a GGUF model's matrices into another weight type. */
@Command(
        name = "quantize",
        mixinStandardHelpOptions = true,
        description = "Write a copy of a GGUF model with its matrices in another weight type (norms stay F32).")
final class QuantizeCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "Source GGUF model.")
    Path model;

    private static final String WRITABLE = "q4_k_m, q5_k_m, q6_k, q8_0, q5_1, q5_0, q4_1, q4_0, f16, bf16 or f32";

    @Option(
            names = "--type",
            required = true,
            description = "Target: q4_k_m, q5_k_m or q6_k (llama-quantize's tensor mixes, byte for byte without an"
                    + " importance matrix), or one type for every matrix: q8_0, q5_1, q5_0, q4_1, q4_0, f16, bf16 or"
                    + " f32.")
    String type;

    @Option(names = "--out", required = true, description = "Output GGUF file.")
    Path out;

    @Override
    public Integer call() throws IOException {
        for (GgufQuantizer.Mix mix : GgufQuantizer.Mix.values()) {
            if (mix.name().equalsIgnoreCase(type)) {
                report(
                        GgufQuantizer.quantize(GgufFile.read(model), mix, out),
                        mix.name().toLowerCase(Locale.ROOT));
                return 0;
            }
        }
        GgmlType target = null;
        try {
            target = GgmlType.valueOf(type.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            // named below
        }
        if (target == null) {
            throw new IllegalArgumentException("unknown type '" + type + "' (choose " + WRITABLE + ")");
        }
        if (target == GgmlType.Q4_K || target == GgmlType.Q5_K) {
            throw new IllegalArgumentException(target + " is written as llama-quantize writes it, in a mix with Q6_K:"
                    + " --type " + type.toLowerCase(Locale.ROOT) + "_m");
        }
        if (!Quantizer.canEncode(target)) {
            throw new IllegalArgumentException(
                    "cannot write " + target + " yet, only read it (choose " + WRITABLE + ")");
        }
        report(GgufQuantizer.quantize(GgufFile.read(model), target, out), target.toString());
        return 0;
    }

    private static void report(GgufQuantizer.Result r, String what) {
        System.err.printf("wrote %s: %d tensors, matrices as %s%n", r.output(), r.tensors(), what);
        for (String f : r.fallbacks()) {
            System.err.println("  " + f);
        }
    }
}
