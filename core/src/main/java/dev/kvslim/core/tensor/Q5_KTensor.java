package dev.kvslim.core.tensor;

import static dev.kvslim.core.tensor.Q4_KTensor.B64;
import static dev.kvslim.core.tensor.Q4_KTensor.L128;
import static dev.kvslim.core.tensor.Q4_KTensor.LANES_00;
import static dev.kvslim.core.tensor.Q4_KTensor.LANES_01;
import static dev.kvslim.core.tensor.Q4_KTensor.LANES_10;
import static dev.kvslim.core.tensor.Q4_KTensor.LANES_11;
import static dev.kvslim.core.tensor.Q4_KTensor.LOW_EIGHT;
import static dev.kvslim.core.tensor.Q4_KTensor.WIDE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

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

    /**
     * {@link #decodeBlock} with vectors and no arrays (the reference decoder allocates two per block): per pair of
     * sub-blocks, the nibbles with their fifth bits moved up beside them, a vector of codes at a time.
     */
    @Override
    protected void decodeBlockFast(int at, float[] out, int off) {
        if (B == null || 32 % F.length() != 0) {
            decodeBlock(at, out, off);
            return;
        }
        float d = f16(at), dmin = f16(at + 2);
        int w0 = i32(at + 4), w1 = i32(at + 8);
        int w2 = i32(at + 12);
        for (int pair = 0; pair < 4; pair++) {
            int q = at + 48 + pair * 32;
            int o = off + pair * 64, lo = 2 * pair, hi = lo + 1;
            FloatVector dl = FloatVector.broadcast(F, d * scale6(w0, w1, w2, lo));
            FloatVector ml = FloatVector.broadcast(F, dmin * min6(w0, w1, w2, lo));
            FloatVector dh = FloatVector.broadcast(F, d * scale6(w0, w1, w2, hi));
            FloatVector mh = FloatVector.broadcast(F, dmin * min6(w0, w1, w2, hi));
            for (int l = 0; l < 32; l += F.length()) {
                // x86 has no byte shift: shift 32-bit lanes and mask what crossed a byte
                IntVector b = ByteVector.fromArray(B, raw, q + l).reinterpretAsInts();
                IntVector h = ByteVector.fromArray(B, raw, at + 16 + l).reinterpretAsInts();
                IntVector low = b.and(0x0F0F0F0F)
                        .or(h.lanewise(VectorOperators.LSHR, 2 * pair)
                                .and(0x01010101)
                                .lanewise(VectorOperators.LSHL, 4));
                IntVector high = b.lanewise(VectorOperators.LSHR, 4)
                        .and(0x0F0F0F0F)
                        .or(h.lanewise(VectorOperators.LSHR, 2 * pair + 1)
                                .and(0x01010101)
                                .lanewise(VectorOperators.LSHL, 4));
                // multiply, then subtract: the same two roundings as the reference decoder
                ((FloatVector) low.reinterpretAsBytes().convertShape(VectorOperators.B2F, F, 0))
                        .mul(dl)
                        .sub(ml)
                        .intoArray(out, o + l);
                ((FloatVector) high.reinterpretAsBytes().convertShape(VectorOperators.B2F, F, 0))
                        .mul(dh)
                        .sub(mh)
                        .intoArray(out, o + 32 + l);
            }
        }
    }

    /**
     * Rows dotted with {@code x} without expanding them: with 16-lane vectors {@link #dotPrepared}, factored as
     * {@link Q4_KTensor}'s (codes times x per sub-block, times the scale, less {@code dmin * min * sum(x)});
     * elsewhere each row expanded by {@link #decodeBlockFast}.
     */
    @Override
    protected boolean prepares() {
        return WIDE;
    }

    /** x interleaved for {@link #dotPrepared}, then its sums over each 32 values. */
    @Override
    protected float[] prepareInput(float[] x, int xOff) {
        float[] p = interleave(x, xOff, cols, cols / 16, LOW, HIGH, CODE_WEIGHT);
        Q4_KTensor.blockSums(x, xOff, cols, p, cols);
        return p;
    }

    /**
     * The values of each input vector of {@link #interleave}: vector v = 8c + 2k + h takes the values whose codes
     * sit at nibble half h of byte k of each int of the c-th 64 code bytes: lanes 0-7 from sub-block 4c + h, lanes
     * 8-15 from 4c + 2 + h; each times 2^-8k ({@link #CODE_WEIGHT}): here both nibble halves' codes are at bit 8k
     * (the high nibbles are shifted down first, so the 5-bit code of byte 3 still fits below the sign bit).
     */
    private static final int[] LOW = new int[16], HIGH = new int[16];

    private static final float[] CODE_WEIGHT = new float[16];

    static {
        for (int v = 0; v < 16; v++) {
            int c = v / 8, h = v % 2;
            LOW[v] = 32 * (4 * c + h);
            HIGH[v] = 32 * (4 * c + 2 + h);
            CODE_WEIGHT[v] = Math.scalb(1f, -8 * ((v % 8) / 2));
        }
    }

    /** The 32 bytes of fifth bits in lanes 0-7 and again in lanes 8-15 (both pairs of sub-blocks of a chunk). */
    private static final VectorShuffle<Integer> TWICE = twice();

    /**
     * Per lane, the shift that moves the fifth bits of a chunk's low nibbles to bit 4 of each byte: lanes 0-7 hold
     * pair 2c (bit 4c of each byte), lanes 8-15 pair 2c + 1 (bit 4c + 2); the high nibbles' bits sit one above.
     */
    private static final IntVector UP_0 = lanes(4, 2), DOWN_1 = lanes(0, 2);

    private static VectorShuffle<Integer> twice() {
        if (!WIDE) {
            return null;
        }
        int[] lanes = new int[16];
        for (int i = 0; i < 16; i++) {
            lanes[i] = i % 8;
        }
        return VectorShuffle.fromArray(IntVector.SPECIES_512, lanes, 0);
    }

    private static IntVector lanes(int first, int second) {
        if (!WIDE) {
            return null;
        }
        int[] v = new int[16];
        for (int i = 0; i < 16; i++) {
            v[i] = i < 8 ? first : second;
        }
        return IntVector.fromArray(IntVector.SPECIES_512, v, 0);
    }

    /**
     * {@link Q4_KTensor}'s kernel with the fifth bit: 64 bytes of nibbles are 16 ints; each nibble half's 5-bit codes
     * are assembled in place by one bitwise blend (the nibbles from the code bytes, shifted down by 4 for the high
     * half, bit 4 of each byte from the fifth bits moved there by a per-lane shift), then one mask per code
     * ({@code 0x1F << 8k}), converted to a float: the code times 2^8k exactly, which the interleaved input carries
     * as 2^-8k. Scales and minimums as in Q4_K (the same 12-byte field and the same lanes).
     */
    @Override
    protected float dotPrepared(long row, float[] xi) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        FloatVector mins = a0;
        int at = blockAt(row, 0);
        for (int b = 0; b < blocksPerRow; b++, at += blockBytes) {
            long w0 = i32(at + 4) & 0xFFFFFFFFL, w1 = i32(at + 8) & 0xFFFFFFFFL, w2 = i32(at + 12) & 0xFFFFFFFFL;
            long sc = (w0 & 0x3F3F3F3FL) | (((w2 & 0x0F0F0F0FL) | (((w0 >>> 6) & 0x03030303L) << 4)) << 32);
            long mn = (w1 & 0x3F3F3F3FL) | ((((w2 >>> 4) & 0x0F0F0F0FL) | (((w1 >>> 6) & 0x03030303L) << 4)) << 32);
            FloatVector both = ((FloatVector) LongVector.zero(L128)
                            .withLane(0, sc)
                            .withLane(1, mn)
                            .reinterpretAsBytes()
                            .convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.broadcast(F, f16(at + 2)).blend(f16(at), LOW_EIGHT));
            mins = both.fma(FloatVector.fromArray(F, xi, cols + 16 * b), mins);
            // the 64 bytes from 16 on: the 32 bytes of fifth bits (then 32 code bytes, unused), twice over
            IntVector fifth =
                    ByteVector.fromArray(B64, raw, at + 16).reinterpretAsInts().rearrange(TWICE);
            IntVector f0 = fifth.lanewise(VectorOperators.LSHL, UP_0);
            IntVector f1 = fifth.lanewise(VectorOperators.LSHR, DOWN_1);
            IntVector q0 = ByteVector.fromArray(B64, raw, at + 48).reinterpretAsInts();
            IntVector q1 = ByteVector.fromArray(B64, raw, at + 112).reinterpretAsInts();
            // c00/c01: low/high nibble codes of the first 64 bytes (sub-blocks 0, 2 | 1, 3), c10/c11 of the next 64
            IntVector c00 = f0.lanewise(VectorOperators.BITWISE_BLEND, q0, 0x0F0F0F0F);
            IntVector c01 = f0.lanewise(VectorOperators.LSHR, 1)
                    .lanewise(VectorOperators.BITWISE_BLEND, q0.lanewise(VectorOperators.LSHR, 4), 0x0F0F0F0F);
            IntVector c10 = f1.lanewise(VectorOperators.BITWISE_BLEND, q1, 0x0F0F0F0F);
            IntVector c11 = f1.lanewise(VectorOperators.LSHR, 1)
                    .lanewise(VectorOperators.BITWISE_BLEND, q1.lanewise(VectorOperators.LSHR, 4), 0x0F0F0F0F);
            int xb = b * 256;
            FloatVector s00 =
                    ((FloatVector) c00.and(0x1F).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xi, xb));
            FloatVector s01 = ((FloatVector) c01.and(0x1F).convert(VectorOperators.I2F, 0))
                    .mul(FloatVector.fromArray(F, xi, xb + 16));
            s00 = ((FloatVector) c00.and(0x1F00).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 32), s00);
            s01 = ((FloatVector) c01.and(0x1F00).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 48), s01);
            s00 = ((FloatVector) c00.and(0x1F0000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 64), s00);
            s01 = ((FloatVector) c01.and(0x1F0000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 80), s01);
            s00 = ((FloatVector) c00.and(0x1F000000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 96), s00);
            s01 = ((FloatVector) c01.and(0x1F000000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 112), s01);
            FloatVector s10 = ((FloatVector) c10.and(0x1F).convert(VectorOperators.I2F, 0))
                    .mul(FloatVector.fromArray(F, xi, xb + 128));
            FloatVector s11 = ((FloatVector) c11.and(0x1F).convert(VectorOperators.I2F, 0))
                    .mul(FloatVector.fromArray(F, xi, xb + 144));
            s10 = ((FloatVector) c10.and(0x1F00).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 160), s10);
            s11 = ((FloatVector) c11.and(0x1F00).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 176), s11);
            s10 = ((FloatVector) c10.and(0x1F0000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 192), s10);
            s11 = ((FloatVector) c11.and(0x1F0000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 208), s11);
            s10 = ((FloatVector) c10.and(0x1F000000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 224), s10);
            s11 = ((FloatVector) c11.and(0x1F000000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 240), s11);
            a0 = s00.fma(both.rearrange(LANES_00), a0);
            a1 = s01.fma(both.rearrange(LANES_01), a1);
            a2 = s10.fma(both.rearrange(LANES_10), a2);
            a3 = s11.fma(both.rearrange(LANES_11), a3);
        }
        return Kernels.sum(a0.add(a1).add(a2.add(a3)).sub(mins));
    }
}
