package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * GGML IQ4_NL: blocks of 32 values: half-float scale {@code d}, 16 bytes of nibbles (as Q4_0) that index a fixed
 * non-linear table of 16 levels; value = d * LEVELS[nibble]. 18 bytes per block.
 */
public final class IQ4_NLTensor extends BlockTensor {

    /** ggml's {@code kvalues_iq4nl}: denser near zero, where most weights lie. */
    static final byte[] LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    public IQ4_NLTensor(MemorySegment data, long rows, int cols) {
        super(GgmlType.IQ4_NL, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.IQ4_NL;
    }

    @Override
    protected void decodeBlock(int at, float[] out, int off) {
        float d = f16(at);
        for (int j = 0; j < 16; j++) {
            int q = u8(at + 2 + j);
            out[off + j] = d * LEVELS[q & 0xF];
            out[off + 16 + j] = d * LEVELS[q >>> 4];
        }
    }
}
