package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * GGML Q4_K: super-blocks of 256 values in 8 sub-blocks of 32. Layout: half-float {@code d} and {@code dmin}, 12
 * bytes of 6-bit sub-block scales and minimums ({@link #scalesAndMins}), 128 bytes of nibbles: each 64 values read 32
 * bytes, low nibbles first; value = d * scale * nibble - dmin * min. 144 bytes.
 */
public final class Q4_KTensor extends BlockTensor {

    public Q4_KTensor(MemorySegment data, long rows, int cols) {
        super(GgmlType.Q4_K, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    @Override
    protected void decodeBlock(int at, float[] out, int off) {
        float[] scales = new float[8], mins = new float[8];
        scalesAndMins(at + 4, f16(at), f16(at + 2), scales, mins);
        for (int pair = 0; pair < 4; pair++) {
            int q = at + 16 + pair * 32;
            int o = off + pair * 64, lo = 2 * pair, hi = lo + 1;
            for (int l = 0; l < 32; l++) {
                int b = u8(q + l);
                out[o + l] = scales[lo] * (b & 0xF) - mins[lo];
                out[o + 32 + l] = scales[hi] * (b >>> 4) - mins[hi];
            }
        }
    }

    /** {@link #decodeBlock} with vectors: a vector of codes per nibble half at a time. */
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
            int q = at + 16 + pair * 32;
            int o = off + pair * 64, lo = 2 * pair, hi = lo + 1;
            // no arrays here: two per block of 256 values were allocated on every call
            FloatVector dl = FloatVector.broadcast(F, d * scale6(w0, w1, w2, lo));
            FloatVector ml = FloatVector.broadcast(F, dmin * min6(w0, w1, w2, lo));
            FloatVector dh = FloatVector.broadcast(F, d * scale6(w0, w1, w2, hi));
            FloatVector mh = FloatVector.broadcast(F, dmin * min6(w0, w1, w2, hi));
            for (int l = 0; l < 32; l += F.length()) {
                ByteVector b = ByteVector.fromArray(B, raw, q + l);
                // multiply, then subtract: the same two roundings as the reference decoder
                ((FloatVector) b.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0))
                        .mul(dl)
                        .sub(ml)
                        .intoArray(out, o + l);
                // x86 has no byte shift: shift 32-bit lanes and mask the nibbles that crossed a byte
                ((FloatVector) b.reinterpretAsInts()
                                .lanewise(VectorOperators.LSHR, 4)
                                .and(0x0F0F0F0F)
                                .reinterpretAsBytes()
                                .convertShape(VectorOperators.B2F, F, 0))
                        .mul(dh)
                        .sub(mh)
                        .intoArray(out, o + 32 + l);
            }
        }
    }

    /**
     * The decoded row dotted with {@code x} without writing it out, as llama.cpp's kernels factor it: per 32-value
     * sub-block, {@code d * scale * (codes . x) - dmin * min * sum(x)}, where the sums of x are taken once per
     * product ({@link #dotRows}) rather than once per row. Codes times x in vectors; the low and high nibbles of a
     * pair of sub-blocks in two accumulators.
     */
    @Override
    public float dot(long row, float[] x, int xOff) {
        if (B == null || 32 % F.length() != 0) {
            return super.dot(row, x, xOff);
        }
        return dot(row, x, xOff, subBlockSums(x, xOff), new byte[16], new float[8]);
    }

    /** Every row through the one dot product, the sums of x taken once. */
    @Override
    protected void dotRows(int from, int to, float[] x, float[] out) {
        if (B == null || 32 % F.length() != 0) {
            super.dotRows(from, to, x, out);
            return;
        }
        float[] sums = subBlockSums(x, 0);
        byte[] codes6 = new byte[16];
        float[] scales = new float[8];
        for (int r = from; r < to; r++) {
            out[r] = dot(r, x, 0, sums, codes6, scales);
        }
    }

    /** The sums of {@code x[xOff ..]} over each 32 values of a row. */
    private float[] subBlockSums(float[] x, int xOff) {
        float[] sums = new float[cols / 32];
        for (int j = 0; j < sums.length; j++) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + 32 * j);
            for (int l = F.length(); l < 32; l += F.length()) {
                v = v.add(FloatVector.fromArray(F, x, xOff + 32 * j + l));
            }
            sums[j] = Kernels.sum(v);
        }
        return sums;
    }

    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;

    /**
     * The factored dot product; {@code codes6} (16 bytes: a block's eight 6-bit scales, then its eight minimums) and
     * {@code scales} (8 floats) are scratch, allocated once per product rather than once per row.
     */
    private float dot(long row, float[] x, int xOff, float[] sums, byte[] codes6, float[] scales) {
        FloatVector accLo = FloatVector.zero(F), accHi = accLo;
        FloatVector minAcc = FloatVector.zero(F8);
        int at = blockAt(row, 0);
        for (int b = 0; b < blocksPerRow; b++, at += blockBytes) {
            float d = f16(at), dmin = f16(at + 2);
            int w0 = i32(at + 4), w1 = i32(at + 8), w2 = i32(at + 12);
            // the 12 packed bytes rearranged as llama.cpp does: scales of sub-blocks 0-3 and 4-7, then minimums
            LittleEndian.putI32(codes6, 0, w0 & 0x3F3F3F3F);
            LittleEndian.putI32(codes6, 4, (w2 & 0x0F0F0F0F) | (((w0 >>> 6) & 0x03030303) << 4));
            LittleEndian.putI32(codes6, 8, w1 & 0x3F3F3F3F);
            LittleEndian.putI32(codes6, 12, ((w2 >>> 4) & 0x0F0F0F0F) | (((w1 >>> 6) & 0x03030303) << 4));
            ((FloatVector) ByteVector.fromArray(B8, codes6, 0).convertShape(VectorOperators.B2F, F8, 0))
                    .mul(d)
                    .intoArray(scales, 0);
            minAcc = ((FloatVector) ByteVector.fromArray(B8, codes6, 8).convertShape(VectorOperators.B2F, F8, 0))
                    .mul(dmin)
                    .fma(FloatVector.fromArray(F8, sums, 8 * b), minAcc);
            for (int pair = 0; pair < 4; pair++) {
                int q = at + 16 + pair * 32;
                int xi = xOff + b * 256 + pair * 64;
                FloatVector sLo = FloatVector.zero(F), sHi = sLo;
                for (int l = 0; l < 32; l += F.length()) {
                    ByteVector codes = ByteVector.fromArray(B, raw, q + l);
                    sLo = ((FloatVector) codes.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.fromArray(F, x, xi + l), sLo);
                    sHi = ((FloatVector) codes.reinterpretAsInts()
                                    .lanewise(VectorOperators.LSHR, 4)
                                    .and(0x0F0F0F0F)
                                    .reinterpretAsBytes()
                                    .convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.fromArray(F, x, xi + 32 + l), sHi);
                }
                accLo = sLo.fma(FloatVector.broadcast(F, scales[2 * pair]), accLo);
                accHi = sHi.fma(FloatVector.broadcast(F, scales[2 * pair + 1]), accHi);
            }
        }
        // the eight lanes of the minimums' sum in a fixed order (reduceLanes' order differs compiled and not)
        minAcc.intoArray(scales, 0);
        float mins = ((scales[0] + scales[4]) + (scales[2] + scales[6]))
                + ((scales[1] + scales[5]) + (scales[3] + scales[7]));
        return Kernels.sum(accLo.add(accHi)) - mins;
    }
}
