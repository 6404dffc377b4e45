package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * GGML Q5_1: blocks of 32 values: half-float scale {@code d} and minimum {@code m}, a 32-bit word of fifth bits,
 * 16 bytes of low nibbles (as Q5_0); value = d * (5-bit code) + m. 24 bytes per block.
 */
public final class Q5_1Tensor extends BlockTensor {

    public Q5_1Tensor(MemorySegment data, long rows, int cols) {
        super(GgmlType.Q5_1, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_1;
    }

    @Override
    protected void decodeBlock(int at, float[] out, int off) {
        float d = f16(at), m = f16(at + 2);
        int high = i32(at + 4);
        for (int j = 0; j < 16; j++) {
            int q = u8(at + 8 + j);
            out[off + j] = d * ((q & 0xF) | (((high >>> j) & 1) << 4)) + m;
            out[off + 16 + j] = d * ((q >>> 4) | (((high >>> (j + 16)) & 1) << 4)) + m;
        }
    }
}
