package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * GGML Q3_K: super-blocks of 256 values in 16 sub-blocks of 16. Layout: 32 bytes of high bits ({@code hmask}),
 * 64 bytes of low 2-bit codes, 12 bytes holding sixteen 6-bit scales, half-float {@code d}. Code bits are read as
 * in Q2_K; a clear high bit subtracts 4, so codes run -4..3; value = d * (scale - 32) * code. 110 bytes.
 */
public final class Q3_KTensor extends BlockTensor {

    public Q3_KTensor(MemorySegment data, long rows, int cols) {
        super(GgmlType.Q3_K, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q3_K;
    }

    @Override
    protected void decodeBlock(int at, float[] out, int off) {
        float d = f16(at + 108);
        int[] scales = scales(at + 96);
        int o = off, sub = 0, mask = 1;
        for (int half = 0; half < 2; half++) {
            int q = at + 32 + half * 32;
            for (int shift = 0; shift < 8; shift += 2, mask <<= 1) {
                for (int part = 0; part < 2; part++) {
                    float dl = d * (scales[sub++] - 32);
                    for (int l = 0; l < 16; l++) {
                        int low = (u8(q + part * 16 + l) >>> shift) & 3;
                        int high = (u8(at + part * 16 + l) & mask) != 0 ? 0 : 4;
                        out[o++] = dl * (low - high);
                    }
                }
            }
        }
    }

    /**
     * The sixteen 6-bit scales in the 12 bytes at {@code at}: bytes 0-7 hold the low four bits (scales 0-7 in the
     * low nibbles, 8-15 in the high ones), bytes 8-11 the top two bits (scale i in bits 2 * (i / 4) of byte
     * 8 + i % 4).
     */
    private int[] scales(int at) {
        int[] s = new int[16];
        for (int i = 0; i < 16; i++) {
            int low = i < 8 ? u8(at + i) & 0xF : u8(at + i - 8) >>> 4;
            int high = (u8(at + 8 + i % 4) >>> (2 * (i / 4))) & 3;
            s[i] = low | (high << 4);
        }
        return s;
    }
}
