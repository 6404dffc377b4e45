package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

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
     * Rows dotted with {@code x} without expanding them, factored as llama.cpp's kernels are: per sub-block j of 16,
     * {@code d * scale_j * (codes . x) - 32 * d * scale_j * sum(x over j)}, the codes taken as 0..63 and the sums
     * of x once per product; the codes are read as ints ({@link #dotPrepared}). Needs 16-lane vectors; elsewhere
     * rows are expanded ({@link #decodeBlockFast}).
     */
    @Override
    protected boolean prepares() {
        return WIDE;
    }

    /** x interleaved for {@link #dotPrepared}, then its sums ({@link #subBlockSums}). */
    @Override
    protected float[] prepareInput(float[] x, int xOff) {
        float[] p = interleave(x, xOff, cols, cols / 16, LOW, HIGH, CODE_WEIGHT);
        subBlockSums(x, xOff, p, cols);
        return p;
    }

    /** The sums of {@code x[xOff ..]} over each 16 values of a row (one 16-lane vector each). */
    private void subBlockSums(float[] x, int xOff, float[] out, int off) {
        for (int j = 0; j < cols / 16; j++) {
            out[off + j] = Kernels.sum(FloatVector.fromArray(F, x, xOff + 16 * j));
        }
    }

    /** The kernel needs 16-lane vectors (AVX-512); elsewhere rows are expanded to floats ({@link #decodeBlockFast}). */
    private static final boolean WIDE = B != null && F.length() == 16;

    private static final VectorSpecies<Byte> B64 = WIDE ? ByteVector.SPECIES_512 : null;

    /**
     * The input vectors {@link #dotPrepared} reads, for {@link #interleave}: vector v = 8 half + 2k + h takes the code at
     * nibble half h of byte k of each int of the half-block's 64 low bytes: lanes 0-7 values 128 half + 64h + (0..31),
     * lanes 8-15 the 32 after them, each times 2^-(8k + 4h), the code's bit position (the top one, shifted down, 1).
     */
    private static final int[] LOW = new int[16], HIGH = new int[16];

    private static final float[] CODE_WEIGHT = new float[16];

    static {
        for (int v = 0; v < 16; v++) {
            int half = v / 8, k = (v % 8) / 2, h = v % 2;
            LOW[v] = 128 * half + 64 * h;
            HIGH[v] = LOW[v] + 32;
            CODE_WEIGHT[v] = k == 3 && h == 1 ? 1f : Math.scalb(1f, -(8 * k + 4 * h));
        }
    }

    /** A half-block's 32 high bytes in lanes 0-7 and again in 8-15 (the 64 high bytes are one vector). */
    private static final VectorShuffle<Integer> HIGH_0 = highLanes(0), HIGH_1 = highLanes(1);

    /** The high bits of values l + 32 sit two bits above those of value l: lanes 8-15 shift them down. */
    private static final IntVector HIGH_SHIFT = WIDE
            ? IntVector.fromArray(IntVector.SPECIES_512, new int[] {0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2}, 0)
            : null;

    /** Per half-block and nibble half: the sub-block scale each lane's values take. */
    private static final VectorShuffle<Float> SCALES_00 = scaleLanes(0, 0),
            SCALES_01 = scaleLanes(0, 1),
            SCALES_10 = scaleLanes(1, 0),
            SCALES_11 = scaleLanes(1, 1);

    private static VectorShuffle<Integer> highLanes(int half) {
        if (!WIDE) {
            return null;
        }
        int[] lanes = new int[16];
        for (int i = 0; i < 16; i++) {
            lanes[i] = 8 * half + i % 8;
        }
        return VectorShuffle.fromArray(IntVector.SPECIES_512, lanes, 0);
    }

    private static VectorShuffle<Float> scaleLanes(int half, int h) {
        if (!WIDE) {
            return null;
        }
        int[] lanes = new int[16];
        for (int i = 0; i < 16; i++) {
            lanes[i] = 8 * half + (i % 8) / 4 + (i < 8 ? 0 : 2) + 4 * h;
        }
        return VectorShuffle.fromArray(F, lanes, 0);
    }

    /**
     * The factored dot product without widening bytes (as {@link Q4_KTensor}'s): a half-block's 64 low bytes are 16
     * ints, its 32 high bytes are put beside them (lanes 8-15 shifted so that each value's two high bits sit where
     * they do in lanes 0-7), and each value's 6-bit code is assembled in place at bit position p = 8k + 4h of its
     * int: one bitwise blend per nibble half takes the nibbles from the low bytes and the bits above them from the
     * high bytes moved up by 4, then one mask ({@code 0x3F << p}) per code. The masked int, converted to a float, is
     * the code times 2^p exactly, and the interleaved input carries 2^-p. That is a mask, a conversion and a
     * multiply-add per 16 values. Lanes 0-7 and 8-15 of a half's vectors belong to different sub-blocks; four
     * accumulators per block take their scales lane by lane ({@link #SCALES_00} and the others). (Masking nibble and
     * high bits separately, two masks per code with 14 constants, ran 10-15% slower than the widening kernel before
     * it: the compiled loop broadcast its constants again every block.)
     */
    @Override
    protected float dotPrepared(long row, float[] xi) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        FloatVector offsets = a0; // sub-block by sub-block: d * scale * sum(x)
        int at = blockAt(row, 0);
        for (int b = 0; b < blocksPerRow; b++, at += blockBytes) {
            FloatVector sc = ((FloatVector)
                            ByteVector.fromArray(B, raw, at + 192).convertShape(VectorOperators.B2F, F, 0))
                    .mul(f16(at + 208));
            offsets = sc.fma(FloatVector.fromArray(F, xi, cols + 16 * b), offsets);
            IntVector high = ByteVector.fromArray(B64, raw, at + 128).reinterpretAsInts();
            IntVector h0 = high.rearrange(HIGH_0).lanewise(VectorOperators.LSHR, HIGH_SHIFT);
            IntVector h1 = high.rearrange(HIGH_1).lanewise(VectorOperators.LSHR, HIGH_SHIFT);
            IntVector l0 = ByteVector.fromArray(B64, raw, at).reinterpretAsInts();
            IntVector l1 = ByteVector.fromArray(B64, raw, at + 64).reinterpretAsInts();
            // the 6-bit codes of low nibbles at bits 8k..8k+5 of each int, of high nibbles at 8k+4..8k+9: the
            // nibbles from the low bytes, the two bits above them from the high bytes moved up by 4
            IntVector h0up = h0.lanewise(VectorOperators.LSHL, 4), h1up = h1.lanewise(VectorOperators.LSHL, 4);
            IntVector c00 = h0up.lanewise(VectorOperators.BITWISE_BLEND, l0, 0x0F0F0F0F);
            IntVector c01 = h0up.lanewise(VectorOperators.BITWISE_BLEND, l0, 0xF0F0F0F0);
            IntVector c10 = h1up.lanewise(VectorOperators.BITWISE_BLEND, l1, 0x0F0F0F0F);
            IntVector c11 = h1up.lanewise(VectorOperators.BITWISE_BLEND, l1, 0xF0F0F0F0);
            int xb = b * 256;
            // s00/s01: the first half-block's low/high nibbles, s10/s11: the second's
            FloatVector s00 =
                    ((FloatVector) c00.and(0x3F).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xi, xb));
            FloatVector s01 = ((FloatVector) c01.and(0x3F0).convert(VectorOperators.I2F, 0))
                    .mul(FloatVector.fromArray(F, xi, xb + 16));
            s00 = ((FloatVector) c00.and(0x3F00).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 32), s00);
            s01 = ((FloatVector) c01.and(0x3F000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 48), s01);
            s00 = ((FloatVector) c00.and(0x3F0000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 64), s00);
            s01 = ((FloatVector) c01.and(0x3F00000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 80), s01);
            s00 = ((FloatVector) c00.and(0x3F000000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 96), s00);
            // the top code does not fit above bit 28: shifted down instead
            s01 = ((FloatVector) l0.lanewise(VectorOperators.LSHR, 28)
                            .or(h0.lanewise(VectorOperators.LSHR, 24).and(0x30))
                            .convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 112), s01);
            FloatVector s10 = ((FloatVector) c10.and(0x3F).convert(VectorOperators.I2F, 0))
                    .mul(FloatVector.fromArray(F, xi, xb + 128));
            FloatVector s11 = ((FloatVector) c11.and(0x3F0).convert(VectorOperators.I2F, 0))
                    .mul(FloatVector.fromArray(F, xi, xb + 144));
            s10 = ((FloatVector) c10.and(0x3F00).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 160), s10);
            s11 = ((FloatVector) c11.and(0x3F000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 176), s11);
            s10 = ((FloatVector) c10.and(0x3F0000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 192), s10);
            s11 = ((FloatVector) c11.and(0x3F00000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 208), s11);
            s10 = ((FloatVector) c10.and(0x3F000000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 224), s10);
            s11 = ((FloatVector) l1.lanewise(VectorOperators.LSHR, 28)
                            .or(h1.lanewise(VectorOperators.LSHR, 24).and(0x30))
                            .convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xi, xb + 240), s11);
            a0 = s00.fma(sc.rearrange(SCALES_00), a0);
            a1 = s01.fma(sc.rearrange(SCALES_01), a1);
            a2 = s10.fma(sc.rearrange(SCALES_10), a2);
            a3 = s11.fma(sc.rearrange(SCALES_11), a3);
        }
        return Kernels.sum(a0.add(a1).add(a2.add(a3))) - 32 * Kernels.sum(offsets);
    }
}
