package dev.kvslim.cli;

import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvPolicies;
import dev.kvslim.core.kv.KvShape;
import dev.kvslim.core.kv.KvType;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The KV cache flags of the commands that run one conversation ({@code generate}, {@code chat}): which cache
 * ({@code --kv-policy} with {@code --kv-ratio}, {@code --kv-tokens} or {@code --kv-window}), its element type
 * ({@code --kv-type}) and its memory ({@code --kv-budget}). Every command spells these the same way; what they mean
 * is read once, by {@link KvCacheSpec#parse}.
 */
final class KvCacheOptions {

    @Option(
            names = "--kv-policy",
            defaultValue = "auto",
            description = "KV cache: none (keep every token), dms (the model's learned eviction), a training-free"
                    + " baseline (streaming, h2o, tova, snapkv, knorm, keydiff, expected-attention, adakv, duo, kvzip (generate only), random; needs --kv-ratio or --kv-tokens), dense"
                    + " (the contiguous F32 cache of one sequence) or auto (dms when the model was retrofitted with DMS,"
                    + " else the plain cache). Default: ${DEFAULT-VALUE}.")
    String policy;

    @Option(
            names = "--kv-ratio",
            description = "Target compression ratio of a baseline: keep ceil(seen / R) tokens per head.")
    Double ratio;

    @Option(names = "--kv-tokens", description = "Token budget per (layer, KV head) of a baseline.")
    Integer tokens;

    @Option(names = "--kv-window", description = "DMS window w to use instead of the model's.")
    Integer window;

    @Option(
            names = "--kv-type",
            defaultValue = "f32",
            description = "Element type of cached keys and values: f32; q8_0 / q4_0 (llama.cpp's quantised -ctk/-ctv"
                    + " types: 3.8x / 7.1x fewer bytes); or f16 / bf16 (rounded to nearest even, half the"
                    + " bytes, twice the tokens in the same budget). Default: ${DEFAULT-VALUE}.")
    String type;

    @Option(
            names = "--kv-budget",
            converter = ByteSize.class,
            description = "Bytes the KV cache may take, e.g. 512MiB (default: a share of the Java heap).")
    Long budget;

    @Mixin
    RenamedKvFlags renamed;

    /** The element type {@code --kv-type} names. */
    KvType type() {
        return KvType.parse(type);
    }

    /**
     * The cache the flags choose for a model shaped {@code model}; {@code paged} when the command needs a paged cache.
     */
    KvCacheSpec spec(KvShape model, boolean paged) {
        try {
            return KvCacheSpec.parse(policy, ratio, tokens, window, model, type(), paged, KvPolicies.Options.DEFAULTS);
        } catch (IllegalArgumentException e) {
            if (budget != null && tokens == null && ratio == null && KvCacheSpec.isBaseline(policy)) {
                throw new IllegalArgumentException(
                        e.getMessage() + " (--kv-budget is bytes of KV memory; a budget in"
                                + " tokens per head is --kv-tokens)",
                        e);
            }
            throw e;
        }
    }

    /** The cache the flags choose where it must be paged (several sequences, or truncation to a shared prefix). */
    KvCacheSpec.Paged pagedSpec(KvShape model) {
        return (KvCacheSpec.Paged) spec(model, true);
    }

    /** {@code --kv-budget}, or {@code otherwise} bytes when it is not given. */
    long budget(long otherwise) {
        return budget != null ? budget : otherwise;
    }
}
