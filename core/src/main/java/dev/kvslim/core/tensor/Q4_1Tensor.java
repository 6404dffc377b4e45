package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * GGML Q4_1: blocks of 32 values: half-float scale {@code d}, half-float minimum {@code m}, 16 bytes of nibbles
 * (byte j holds value j low and value j+16 high); value = d * nibble + m. 20 bytes per block.
 */
public final class Q4_1Tensor extends BlockTensor {

    public Q4_1Tensor(MemorySegment data, long rows, int cols) {
        super(GgmlType.Q4_1, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_1;
    }

    @Override
    protected void decodeBlock(int at, float[] out, int off) {
        float d = f16(at), m = f16(at + 2);
        for (int j = 0; j < 16; j++) {
            int q = u8(at + 4 + j);
            out[off + j] = d * (q & 0xF) + m;
            out[off + 16 + j] = d * (q >>> 4) + m;
        }
    }
}
