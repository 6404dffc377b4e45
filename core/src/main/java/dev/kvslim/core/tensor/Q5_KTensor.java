package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * GGML Q5_K: Q4_K with a fifth bit. Layout: half-float {@code d}, {@code dmin}, 12 bytes of scales and minimums,
 * 32 bytes of fifth bits (bit 2p of byte l for value l of sub-block 2p, bit 2p+1 for sub-block 2p+1), 128 bytes of
 * nibbles as in Q4_K; value = d * scale * code - dmin * min. 176 bytes.
 */
public final class Q5_KTensor extends BlockTensor {

    public Q5_KTensor(MemorySegment data, long rows, int cols) {
        super(GgmlType.Q5_K, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_K;
    }

    @Override
    protected void decodeBlock(int at, float[] out, int off) {
        float[] scales = new float[8], mins = new float[8];
        scalesAndMins(at + 4, f16(at), f16(at + 2), scales, mins);
        for (int pair = 0; pair < 4; pair++) {
            int q = at + 48 + pair * 32;
            int o = off + pair * 64, lo = 2 * pair, hi = lo + 1;
            for (int l = 0; l < 32; l++) {
                int b = u8(q + l), h = u8(at + 16 + l) >>> (2 * pair);
                out[o + l] = scales[lo] * ((b & 0xF) | ((h & 1) << 4)) - mins[lo];
                out[o + 32 + l] = scales[hi] * ((b >>> 4) | ((h & 2) << 3)) - mins[hi];
            }
        }
    }
}
