package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * GGML Q5_0: blocks of 32 values: half-float scale {@code d}, a 32-bit little-endian word of fifth bits (bit j for
 * value j), 16 bytes of low nibbles (byte j: value j low, value j+16 high); value = d * (5-bit code - 16).
 * 22 bytes per block.
 */
public final class Q5_0Tensor extends BlockTensor {

    public Q5_0Tensor(MemorySegment data, long rows, int cols) {
        super(GgmlType.Q5_0, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_0;
    }

    @Override
    protected void decodeBlock(int at, float[] out, int off) {
        float d = f16(at);
        int high = i32(at + 2);
        for (int j = 0; j < 16; j++) {
            int q = u8(at + 6 + j);
            out[off + j] = d * (((q & 0xF) | (((high >>> j) & 1) << 4)) - 16);
            out[off + 16 + j] = d * (((q >>> 4) | (((high >>> (j + 16)) & 1) << 4)) - 16);
        }
    }
}
