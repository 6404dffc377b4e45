package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * GGML Q2_K: super-blocks of 256 values in 16 sub-blocks of 16. Layout: 16 bytes of sub-block scales (low nibble
 * scale, high nibble minimum), 64 bytes of 2-bit codes, half-float {@code d} and {@code dmin}. Each 128 values
 * read 32 code bytes four times, two bits further each time; value = d * scale * code - dmin * min. 84 bytes.
 */
public final class Q2_KTensor extends BlockTensor {

    public Q2_KTensor(MemorySegment data, long rows, int cols) {
        super(GgmlType.Q2_K, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q2_K;
    }

    @Override
    protected void decodeBlock(int at, float[] out, int off) {
        float d = f16(at + 80), dmin = f16(at + 82);
        int o = off, sub = 0;
        for (int half = 0; half < 2; half++) {
            int q = at + 16 + half * 32;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int part = 0; part < 2; part++) {
                    int sc = u8(at + sub++);
                    float dl = d * (sc & 0xF), ml = dmin * (sc >>> 4);
                    for (int l = 0; l < 16; l++) {
                        out[o++] = dl * ((u8(q + part * 16 + l) >>> shift) & 3) - ml;
                    }
                }
            }
        }
    }
}
