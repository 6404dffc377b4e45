package dev.kvslim.core.kv;

import java.util.Locale;

/**
 * The element type a {@link BlockPool} stores keys and values in. F32 keeps what the forward pass computed; F16 and
 * BF16 round each value to 16 bits (to nearest, ties to even) and so hold twice the tokens in the same byte budget;
 * Q8_0 and Q4_0 quantise each key and value in groups of 32 channels as llama.cpp's {@code -ctk/-ctv q8_0|q4_0}
 * do (a half-float scale and 8- or 4-bit codes a group, ggml's reference rounding), about 3.8x and 7.1x smaller
 * than F32. Attention widens them back to floats and computes in float. Each type's storage and kernels live in one
 * small class ({@link F32Blocks}, {@link F16Blocks}, {@link Bf16Blocks}, {@link Q8Blocks}, {@link Q4Blocks}); this
 * enum only names them and their size.
 */
public enum KvType {

    /** 32-bit IEEE floats, stored as computed. */
    F32 {
        @Override
        KvBlocks blocks(int headSize, int blockSize, int maxBlocks) {
            return new F32Blocks(headSize, blockSize, maxBlocks);
        }

        @Override
        public long vectorBytes(int headSize) {
            return (long) Float.BYTES * headSize;
        }
    },
    /** IEEE half floats: 11 significant bits, finite up to ±65504 (larger values become ±inf). */
    F16 {
        @Override
        KvBlocks blocks(int headSize, int blockSize, int maxBlocks) {
            return new F16Blocks(headSize, blockSize, maxBlocks);
        }

        @Override
        public long vectorBytes(int headSize) {
            return 2L * headSize;
        }
    },
    /** bfloat16: the upper half of a float, 8 significant bits and the float's range. */
    BF16 {
        @Override
        KvBlocks blocks(int headSize, int blockSize, int maxBlocks) {
            return new Bf16Blocks(headSize, blockSize, maxBlocks);
        }

        @Override
        public long vectorBytes(int headSize) {
            return 2L * headSize;
        }
    },
    /** GGML Q8_0: per group, a half-float scale {@code max|x| / 127} and a signed byte a channel. */
    Q8_0 {
        @Override
        KvBlocks blocks(int headSize, int blockSize, int maxBlocks) {
            return new Q8Blocks(headSize, blockSize, maxBlocks);
        }

        @Override
        public long vectorBytes(int headSize) {
            return headSize + 2L * (headSize / group(headSize));
        }
    },
    /** GGML Q4_0: per group, a half-float scale and a 4-bit code a channel, value {@code scale * (code - 8)}. */
    Q4_0 {
        @Override
        KvBlocks blocks(int headSize, int blockSize, int maxBlocks) {
            return new Q4Blocks(headSize, blockSize, maxBlocks);
        }

        @Override
        public long vectorBytes(int headSize) {
            return headSize / 2L + 2L * (headSize / group(headSize));
        }
    };

    /** Channels that share one scale in the quantised types. */
    static final int GROUP = 32;

    /**
     * The channels of a quantised group for heads of {@code headSize}: 32, as ggml's blocks, when they divide the
     * head; otherwise the whole head is one group (small test models; llama.cpp refuses such heads).
     */
    static int group(int headSize) {
        return headSize % GROUP == 0 ? GROUP : headSize;
    }

    /** Storage for up to {@code maxBlocks} blocks of this type. */
    abstract KvBlocks blocks(int headSize, int blockSize, int maxBlocks);

    /** Bytes one key (or one value) of {@code headSize} channels takes, scales included. */
    public abstract long vectorBytes(int headSize);

    /** Whether values are stored in groups with a shared scale (Q8_0, Q4_0) rather than one by one. */
    public boolean quantised() {
        return this == Q8_0 || this == Q4_0;
    }

    /** The type named {@code name} (f32, f16, bf16, q8_0 or q4_0, in any case). */
    public static KvType parse(String name) {
        for (KvType t : values()) {
            if (t.name().equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException(
                "unknown KV element type '" + name + "'; supported: f32, f16, bf16, q8_0, q4_0");
    }

    /** The lower-case name {@link #parse} accepts. */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
