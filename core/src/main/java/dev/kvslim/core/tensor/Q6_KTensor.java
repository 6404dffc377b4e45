package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * GGML Q6_K: super-blocks of 256 values in 16 sub-blocks of 16. Layout: 128 bytes of low nibbles, 64 bytes of
 * high 2-bit pairs, 16 signed 8-bit sub-block scales, half-float {@code d}. Each 128 values use 64 low bytes and 32
 * high bytes: value l + 32k takes nibble k/2 of low byte l + 32 (k%2) and bits 2k..2k+1 of high byte l;
 * value = d * scale * (code - 32). 210 bytes.
 */
public final class Q6_KTensor extends BlockTensor {

    public Q6_KTensor(MemorySegment data, long rows, int cols) {
        super(GgmlType.Q6_K, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    protected void decodeBlock(int at, float[] out, int off) {
        float d = f16(at + 208);
        for (int half = 0; half < 2; half++) {
            int ql = at + half * 64, qh = at + 128 + half * 32, sc = at + 192 + half * 8;
            int o = off + half * 128;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int lo0 = u8(ql + l), lo1 = u8(ql + 32 + l), h = u8(qh + l);
                int q1 = ((lo0 & 0xF) | ((h & 3) << 4)) - 32;
                int q2 = ((lo1 & 0xF) | (((h >>> 2) & 3) << 4)) - 32;
                int q3 = ((lo0 >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                int q4 = ((lo1 >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                out[o + l] = d * (byte) u8(sc + is) * q1;
                out[o + 32 + l] = d * (byte) u8(sc + is + 2) * q2;
                out[o + 64 + l] = d * (byte) u8(sc + is + 4) * q3;
                out[o + 96 + l] = d * (byte) u8(sc + is + 6) * q4;
            }
        }
    }

    /** {@link #decodeBlock} with vectors: four vectors of 6-bit codes from two low and one high vector of bytes. */
    @Override
    protected void decodeBlockFast(int at, float[] out, int off) {
        if (B == null || 16 % F.length() != 0) {
            decodeBlock(at, out, off);
            return;
        }
        float d = f16(at + 208);
        for (int half = 0; half < 2; half++) {
            int ql = at + half * 64, qh = at + 128 + half * 32, sc = at + 192 + half * 8;
            int o = off + half * 128;
            for (int l = 0; l < 32; l += F.length()) {
                int is = l / 16;
                ByteVector lo0 = ByteVector.fromArray(B, raw, ql + l);
                ByteVector lo1 = ByteVector.fromArray(B, raw, ql + 32 + l);
                ByteVector h = ByteVector.fromArray(B, raw, qh + l);
                // x86 has no byte shift: shift 32-bit lanes and mask what crossed a byte
                IntVector l0 = lo0.reinterpretAsInts(), l1 = lo1.reinterpretAsInts(), hi = h.reinterpretAsInts();
                ByteVector q1 = l0.and(0x0F0F0F0F)
                        .or(hi.lanewise(VectorOperators.LSHL, 4).and(0x30303030))
                        .reinterpretAsBytes();
                ByteVector q2 = l1.and(0x0F0F0F0F)
                        .or(hi.lanewise(VectorOperators.LSHL, 2).and(0x30303030))
                        .reinterpretAsBytes();
                ByteVector q3 = l0.lanewise(VectorOperators.LSHR, 4)
                        .and(0x0F0F0F0F)
                        .or(hi.and(0x30303030))
                        .reinterpretAsBytes();
                ByteVector q4 = l1.lanewise(VectorOperators.LSHR, 4)
                        .and(0x0F0F0F0F)
                        .or(hi.lanewise(VectorOperators.LSHR, 2).and(0x30303030))
                        .reinterpretAsBytes();
                ((FloatVector) q1.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                        .mul(d * (byte) u8(sc + is))
                        .intoArray(out, o + l);
                ((FloatVector) q2.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                        .mul(d * (byte) u8(sc + is + 2))
                        .intoArray(out, o + 32 + l);
                ((FloatVector) q3.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                        .mul(d * (byte) u8(sc + is + 4))
                        .intoArray(out, o + 64 + l);
                ((FloatVector) q4.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                        .mul(d * (byte) u8(sc + is + 6))
                        .intoArray(out, o + 96 + l);
            }
        }
    }

    /**
     * Row {@code row} dotted with {@code x} without expanding it, factored as llama.cpp's kernels are: per sub-block
     * j of 16, {@code d * scale_j * (codes . x) - 32 * d * scale_j * sum(x over j)}, the codes taken as 0..63 and the
     * sums of x once per product ({@link #dotRows}). With 16-lane vectors a sub-block is one vector, a super-block's
     * 16 scales one conversion; the four 32-value groups of each half-block (q1..q4) go to four accumulators, so
     * four chains of multiply-adds run at once.
     */
    @Override
    public float dot(long row, float[] x, int xOff) {
        if (B == null || F.length() != 16) {
            return super.dot(row, x, xOff);
        }
        return dot(row, x, xOff, subBlockSums(x, xOff), new float[16]);
    }

    /** Every row through the one dot product, the sums of x taken once. */
    @Override
    protected void dotRows(int from, int to, float[] x, float[] out) {
        if (B == null || F.length() != 16) {
            super.dotRows(from, to, x, out);
            return;
        }
        float[] sums = subBlockSums(x, 0);
        float[] scales = new float[16];
        for (int r = from; r < to; r++) {
            out[r] = dot(r, x, 0, sums, scales);
        }
    }

    /** The sums of {@code x[xOff ..]} over each 16 values of a row (one 16-lane vector each). */
    private float[] subBlockSums(float[] x, int xOff) {
        float[] sums = new float[cols / 16];
        for (int j = 0; j < sums.length; j++) {
            sums[j] = Kernels.sum(FloatVector.fromArray(F, x, xOff + 16 * j));
        }
        return sums;
    }

    /** The factored dot product; {@code scales} (16 floats) is scratch, allocated once per product. */
    private float dot(long row, float[] x, int xOff, float[] sums, float[] scales) {
        FloatVector acc1 = FloatVector.zero(F), acc2 = acc1, acc3 = acc1, acc4 = acc1;
        FloatVector offsets = acc1; // sub-block by sub-block: d * scale * sum(x)
        int at = blockAt(row, 0);
        for (int b = 0; b < blocksPerRow; b++, at += blockBytes) {
            FloatVector sc = ((FloatVector)
                            ByteVector.fromArray(B, raw, at + 192).convertShape(VectorOperators.B2F, F, 0))
                    .mul(f16(at + 208));
            sc.intoArray(scales, 0);
            offsets = sc.fma(FloatVector.fromArray(F, sums, 16 * b), offsets);
            for (int half = 0; half < 2; half++) {
                int ql = at + half * 64, qh = at + 128 + half * 32, s0 = half * 8;
                int xi = xOff + b * 256 + half * 128;
                for (int l = 0; l < 32; l += 16) {
                    int is = s0 + l / 16;
                    IntVector l0 = ByteVector.fromArray(B, raw, ql + l).reinterpretAsInts();
                    IntVector l1 = ByteVector.fromArray(B, raw, ql + 32 + l).reinterpretAsInts();
                    IntVector hi = ByteVector.fromArray(B, raw, qh + l).reinterpretAsInts();
                    // x86 has no byte shift: shift 32-bit lanes and mask what crossed a byte
                    ByteVector q1 = l0.and(0x0F0F0F0F)
                            .or(hi.lanewise(VectorOperators.LSHL, 4).and(0x30303030))
                            .reinterpretAsBytes();
                    ByteVector q2 = l1.and(0x0F0F0F0F)
                            .or(hi.lanewise(VectorOperators.LSHL, 2).and(0x30303030))
                            .reinterpretAsBytes();
                    ByteVector q3 = l0.lanewise(VectorOperators.LSHR, 4)
                            .and(0x0F0F0F0F)
                            .or(hi.and(0x30303030))
                            .reinterpretAsBytes();
                    ByteVector q4 = l1.lanewise(VectorOperators.LSHR, 4)
                            .and(0x0F0F0F0F)
                            .or(hi.lanewise(VectorOperators.LSHR, 2).and(0x30303030))
                            .reinterpretAsBytes();
                    acc1 = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0))
                            .mul(FloatVector.fromArray(F, x, xi + l))
                            .fma(FloatVector.broadcast(F, scales[is]), acc1);
                    acc2 = ((FloatVector) q2.convertShape(VectorOperators.B2F, F, 0))
                            .mul(FloatVector.fromArray(F, x, xi + 32 + l))
                            .fma(FloatVector.broadcast(F, scales[is + 2]), acc2);
                    acc3 = ((FloatVector) q3.convertShape(VectorOperators.B2F, F, 0))
                            .mul(FloatVector.fromArray(F, x, xi + 64 + l))
                            .fma(FloatVector.broadcast(F, scales[is + 4]), acc3);
                    acc4 = ((FloatVector) q4.convertShape(VectorOperators.B2F, F, 0))
                            .mul(FloatVector.fromArray(F, x, xi + 96 + l))
                            .fma(FloatVector.broadcast(F, scales[is + 6]), acc4);
                }
            }
        }
        return Kernels.sum(acc1.add(acc2).add(acc3.add(acc4))) - 32 * Kernels.sum(offsets);
    }
}
