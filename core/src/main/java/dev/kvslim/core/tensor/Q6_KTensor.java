package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
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

    /** Slots per block of 256 in {@link #prepareInput}. */
    private static final int BLOCK_SLOTS = Int8Input.K_BLOCK_SLOTS;

    /**
     * {@code x[xOff ..]} for {@link #dotPrepared} ({@link Int8Input#q8K}): per block of 256 the codes in the order of
     * {@link #ORDER}, then the sums of the codes of each sub-block of 16, then the input scale.
     */
    @Override
    protected float[] prepareInput(float[] x, int xOff) {
        return Int8Input.q8K(x, xOff, cols, ORDER, 16);
    }

    /** The kernel needs 16-lane vectors (AVX-512); elsewhere rows are expanded to floats ({@link #decodeBlockFast}). */
    private static final boolean WIDE = B != null && F.length() == 16;

    private static final VectorSpecies<Byte> B64 = WIDE ? ByteVector.SPECIES_512 : null;
    private static final VectorSpecies<Short> S64 = WIDE ? ShortVector.SPECIES_512 : null;

    /**
     * Where {@link #prepareInput} takes each of a block's 256 input codes from, in the order {@link #dotPrepared}
     * reads them: vector {@code 4n + 2t + u} for half-block n, nibble half t and byte u of each short of the
     * half-block's 64 low bytes (read as 32 shorts: short i holds low bytes 2i and 2i + 1). Low byte l < 32 holds
     * value l in its low nibble and l + 64 in its high one; low byte l >= 32, values l and l + 64 likewise (both
     * counted from the half-block's start, 128 n).
     */
    private static final int[] ORDER = new int[256];

    static {
        for (int v = 0; v < 8; v++) {
            int n = v / 4, t = (v / 2) % 2, u = v % 2;
            for (int i = 0; i < 32; i++) {
                ORDER[32 * v + i] = 128 * n + 64 * t + 2 * i + u;
            }
        }
    }

    /** A half-block's 32 high bytes (16 shorts) in short lanes 0-15 and again in 16-31. */
    private static final VectorShuffle<Short> HIGH_0 = highLanes(0), HIGH_1 = highLanes(1);

    /**
     * The high bits of values l + 32 sit two bits above those of value l in high byte l: short lanes 16-31, the
     * low bytes from 32 on, shift them down.
     */
    private static final ShortVector HIGH_SHIFT =
            WIDE ? ShortVector.zero(S64).blend((short) 2, S64.indexInRange(-16, 16)) : null;

    /** Per half-block and nibble half: the sub-block scale of each int lane (four lanes of 16 values each). */
    private static final VectorShuffle<Float> SCALES_00 = scaleLanes(0, 0),
            SCALES_01 = scaleLanes(0, 1),
            SCALES_10 = scaleLanes(1, 0),
            SCALES_11 = scaleLanes(1, 1);

    private static VectorShuffle<Short> highLanes(int half) {
        return WIDE ? VectorShuffle.fromOp(S64, i -> 16 * half + i % 16) : null;
    }

    private static VectorShuffle<Float> scaleLanes(int half, int t) {
        return WIDE ? VectorShuffle.fromOp(F, i -> 8 * half + 4 * t + i / 4) : null;
    }

    /**
     * The factored dot product in integers, as llama.cpp's Q6_K x Q8_K kernels compute it: per sub-block j of 16,
     * {@code d * scale_j * dx * (codes . input codes) - 32 * d * scale_j * dx * sum(input codes over j)}, the codes
     * taken as 0..63. A half-block's 64 low bytes are read as 32 shorts, its 32 high bytes put beside them (in both
     * halves of a vector, lanes 16-31 shifted so that each value's two high bits sit where they do in lanes 0-15);
     * one bitwise blend per nibble half joins each short's two nibbles with the bits above them (the high bits
     * moved up by 4 for the low nibbles, the low bytes moved down by 4 for the high ones), so that each short holds
     * two 6-bit codes at bits 0 and 8; each is masked out (and shifted), multiplied by the matching input codes in
     * 16-bit lanes, and the two added (at most 2 * 63 * 127); then the two shorts of each int are added
     * (shift, add, arithmetic shift) and each int, converted to a float, is multiplied by its sub-block's scale: four
     * lanes per sub-block, four accumulators per block ({@link #SCALES_00} and the others). The kernel before it
     * multiplied float inputs by codes converted to floats: in one process, rounds alternating, 19.8 against 31.4
     * GB/s for this one (docs/performance.md).
     */
    @Override
    protected float dotPrepared(long row, float[] p) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        FloatVector offsets = a0; // sub-block by sub-block: d * dx * scale * sum(input codes)
        int at = blockAt(row, 0);
        for (int b = 0; b < blocksPerRow; b++, at += blockBytes) {
            int o = BLOCK_SLOTS * b;
            FloatVector sc = ((FloatVector)
                            ByteVector.fromArray(B, raw, at + 192).convertShape(VectorOperators.B2F, F, 0))
                    .mul(f16(at + 208) * p[o + 144]);
            offsets = sc.fma(FloatVector.fromArray(F, p, o + 128), offsets);
            ShortVector high = ByteVector.fromArray(B64, raw, at + 128).reinterpretAsShorts();
            ShortVector h0 = high.rearrange(HIGH_0).lanewise(VectorOperators.LSHR, HIGH_SHIFT);
            ShortVector h1 = high.rearrange(HIGH_1).lanewise(VectorOperators.LSHR, HIGH_SHIFT);
            ShortVector l0 = ByteVector.fromArray(B64, raw, at).reinterpretAsShorts();
            ShortVector l1 = ByteVector.fromArray(B64, raw, at + 64).reinterpretAsShorts();
            // each short: the codes of its two low nibbles (c00, c10) or its two high nibbles (c01, c11) at bits 0
            // and 8, with stray high bits above each, masked off below
            ShortVector c00 = h0.lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.BITWISE_BLEND, l0, NIBBLES);
            ShortVector c01 = h0.lanewise(VectorOperators.BITWISE_BLEND, l0.lanewise(VectorOperators.LSHR, 4), NIBBLES);
            ShortVector c10 = h1.lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.BITWISE_BLEND, l1, NIBBLES);
            ShortVector c11 = h1.lanewise(VectorOperators.BITWISE_BLEND, l1.lanewise(VectorOperators.LSHR, 4), NIBBLES);
            ShortVector s00 = c00.and(CODE)
                    .mul(FloatVector.fromArray(F, p, o).reinterpretAsShorts())
                    .add(c00.lanewise(VectorOperators.LSHR, 8)
                            .and(CODE)
                            .mul(FloatVector.fromArray(F, p, o + 16).reinterpretAsShorts()));
            IntVector w00 = s00.reinterpretAsInts();
            IntVector i00 = w00.add(w00.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            ShortVector s01 = c01.and(CODE)
                    .mul(FloatVector.fromArray(F, p, o + 32).reinterpretAsShorts())
                    .add(c01.lanewise(VectorOperators.LSHR, 8)
                            .and(CODE)
                            .mul(FloatVector.fromArray(F, p, o + 48).reinterpretAsShorts()));
            IntVector w01 = s01.reinterpretAsInts();
            IntVector i01 = w01.add(w01.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            ShortVector s10 = c10.and(CODE)
                    .mul(FloatVector.fromArray(F, p, o + 64).reinterpretAsShorts())
                    .add(c10.lanewise(VectorOperators.LSHR, 8)
                            .and(CODE)
                            .mul(FloatVector.fromArray(F, p, o + 80).reinterpretAsShorts()));
            IntVector w10 = s10.reinterpretAsInts();
            IntVector i10 = w10.add(w10.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            ShortVector s11 = c11.and(CODE)
                    .mul(FloatVector.fromArray(F, p, o + 96).reinterpretAsShorts())
                    .add(c11.lanewise(VectorOperators.LSHR, 8)
                            .and(CODE)
                            .mul(FloatVector.fromArray(F, p, o + 112).reinterpretAsShorts()));
            IntVector w11 = s11.reinterpretAsInts();
            IntVector i11 = w11.add(w11.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            a0 = ((FloatVector) i00.convert(VectorOperators.I2F, 0)).fma(sc.rearrange(SCALES_00), a0);
            a1 = ((FloatVector) i01.convert(VectorOperators.I2F, 0)).fma(sc.rearrange(SCALES_01), a1);
            a2 = ((FloatVector) i10.convert(VectorOperators.I2F, 0)).fma(sc.rearrange(SCALES_10), a2);
            a3 = ((FloatVector) i11.convert(VectorOperators.I2F, 0)).fma(sc.rearrange(SCALES_11), a3);
        }
        return Kernels.sum(a0.add(a1).add(a2.add(a3))) - 32 * Kernels.sum(offsets);
    }

    /** The bits a blend takes from the low bytes: the nibbles at bits 0-3 and 8-11 of each short. */
    private static final short NIBBLES = 0x0F0F;

    /** One 6-bit code. */
    private static final short CODE = 0x3F;
}
