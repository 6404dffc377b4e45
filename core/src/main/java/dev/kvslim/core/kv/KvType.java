package dev.kvslim.core.kv;

import java.util.Locale;

/**
 * The element type a {@link BlockPool} stores keys and values in. F32 keeps what the forward pass computed; F16 and
 * BF16 round each value to 16 bits (to nearest, ties to even) and so hold twice the tokens in the same byte budget.
 * Attention widens them back to floats and computes in float. Each type's storage and kernels live in one small
 * class ({@link F32Blocks}, {@link F16Blocks}, {@link Bf16Blocks}); this enum only names them and their size.
 */
public enum KvType {

    /** 32-bit IEEE floats, stored as computed. */
    F32(Float.BYTES) {
        @Override
        KvBlocks blocks(int headSize, int blockSize, int maxBlocks) {
            return new F32Blocks(headSize, blockSize, maxBlocks);
        }
    },
    /** IEEE half floats: 11 significant bits, finite up to ±65504 (larger values become ±inf). */
    F16(2) {
        @Override
        KvBlocks blocks(int headSize, int blockSize, int maxBlocks) {
            return new F16Blocks(headSize, blockSize, maxBlocks);
        }
    },
    /** bfloat16: the upper half of a float, 8 significant bits and the float's range. */
    BF16(2) {
        @Override
        KvBlocks blocks(int headSize, int blockSize, int maxBlocks) {
            return new Bf16Blocks(headSize, blockSize, maxBlocks);
        }
    };

    private final int bytes;

    KvType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes one key or value element takes. */
    public int bytes() {
        return bytes;
    }

    /** Storage for up to {@code maxBlocks} blocks of this type. */
    abstract KvBlocks blocks(int headSize, int blockSize, int maxBlocks);

    /** The type named {@code name} (f32, f16 or bf16, in any case). */
    public static KvType parse(String name) {
        for (KvType t : values()) {
            if (t.name().equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown KV element type '" + name + "'; supported: f32, f16, bf16");
    }

    /** The lower-case name {@link #parse} accepts. */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
