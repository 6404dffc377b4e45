package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
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
     * product ({@link #dotRows}) rather than once per row. With 16-lane vectors in integers, over the input rounded
     * to 8-bit codes ({@link #dotPrepared}); with 8 lanes, bytes widened to floats ({@link #dotNarrow}).
     */
    @Override
    public float dot(long row, float[] x, int xOff) {
        if (WIDE || B == null || F.length() > 16) {
            return super.dot(row, x, xOff);
        }
        return dotNarrow(row, x, xOff, blockSums(x, xOff), new float[16]);
    }

    /** Every row through the one dot product, the sums of x (and its interleaved copy) taken once. */
    @Override
    protected void dotRows(int from, int to, float[] x, float[] out) {
        if (WIDE || B == null || F.length() > 16) {
            super.dotRows(from, to, x, out);
            return;
        }
        float[] sums = blockSums(x, 0);
        float[] scales = new float[16];
        for (int r = from; r < to; r++) {
            out[r] = dotNarrow(r, x, 0, sums, scales);
        }
    }

    /** With 16-lane vectors: the integer kernel ({@link #dotPrepared}). */
    @Override
    protected boolean prepares() {
        return WIDE;
    }

    /** Slots per block of 256 in {@link #prepareInput}. */
    private static final int BLOCK_SLOTS = Int8Input.K_BLOCK_SLOTS;

    /**
     * {@code x[xOff ..]} for {@link #dotPrepared} ({@link Int8Input#q8K}): per block of 256 the codes in the order of
     * {@link #ORDER}; then 16 floats, eight zeros (the lanes of the weight scales) and the sums of the codes of each
     * sub-block of 32 (the lanes of the minimums); then the input scale.
     */
    @Override
    protected float[] prepareInput(float[] x, int xOff) {
        return Int8Input.q8K(x, xOff, cols, ORDER, 32);
    }

    /**
     * The sums of {@code x[xOff ..]} over each 32 values of a row, 16 floats per block: eight zeros (the lanes of
     * the block's scales), then its eight sub-blocks' sums (the lanes of its minimums).
     */
    private float[] blockSums(float[] x, int xOff) {
        return blockSums(x, xOff, cols, new float[cols / 16], 0);
    }

    /** {@link #blockSums} of a row of {@code cols} written to {@code out[off ..)} (also {@link Q5_KTensor}'s). */
    static float[] blockSums(float[] x, int xOff, int cols, float[] out, int off) {
        for (int j = 0; j < cols / 32; j++) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + 32 * j);
            for (int l = F.length(); l < 32; l += F.length()) {
                v = v.add(FloatVector.fromArray(F, x, xOff + 32 * j + l));
            }
            out[off + 16 * (j / 8) + 8 + j % 8] = Kernels.sum(v);
        }
        return out;
    }

    static final VectorSpecies<Long> L128 = LongVector.SPECIES_128;
    static final VectorMask<Float> LOW_EIGHT = F.length() == 16 ? F.indexInRange(0, 8) : null;

    /**
     * The factored dot product with bytes of codes widened to floats, for 8-lane vectors: a block's scales and
     * minimums decoded one by one into {@code scales} (16 floats, scratch allocated once per product) for the
     * broadcasts. The vector parts are written out in this one method: split into small helpers, the JIT stopped
     * inlining them and the kernel ran at a fifth of the speed.
     */
    private float dotNarrow(long row, float[] x, int xOff, float[] sums, float[] scales) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        FloatVector mins = a0;
        int at = blockAt(row, 0);
        for (int b = 0; b < blocksPerRow; b++, at += blockBytes) {
            long w0 = i32(at + 4) & 0xFFFFFFFFL, w1 = i32(at + 8) & 0xFFFFFFFFL, w2 = i32(at + 12) & 0xFFFFFFFFL;
            float d = f16(at), dmin = f16(at + 2);
            for (int j = 0; j < 8; j++) {
                scales[j] = d * scale6((int) w0, (int) w1, (int) w2, j);
                scales[8 + j] = dmin * min6((int) w0, (int) w1, (int) w2, j);
            }
            mins = FloatVector.fromArray(F, scales, 8).fma(FloatVector.fromArray(F, sums, 16 * b + 8), mins);
            int q = at + 16, xi = xOff + b * 256;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
            for (int l = 0; l < 32; l += F.length()) {
                ByteVector c0 = ByteVector.fromArray(B, raw, q + l), c1 = ByteVector.fromArray(B, raw, q + 32 + l);
                ByteVector c2 = ByteVector.fromArray(B, raw, q + 64 + l), c3 = ByteVector.fromArray(B, raw, q + 96 + l);
                // low nibbles: sub-blocks 0, 2, 4, 6; high ones (x86 has no byte shift: shift 32-bit lanes, mask
                // the nibbles that crossed a byte): 1, 3, 5, 7
                s0 = ((FloatVector) c0.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xi + l), s0);
                s1 = ((FloatVector) c0.reinterpretAsInts()
                                .lanewise(VectorOperators.LSHR, 4)
                                .and(0x0F0F0F0F)
                                .reinterpretAsBytes()
                                .convertShape(VectorOperators.B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xi + 32 + l), s1);
                s2 = ((FloatVector) c1.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xi + 64 + l), s2);
                s3 = ((FloatVector) c1.reinterpretAsInts()
                                .lanewise(VectorOperators.LSHR, 4)
                                .and(0x0F0F0F0F)
                                .reinterpretAsBytes()
                                .convertShape(VectorOperators.B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xi + 96 + l), s3);
                s4 = ((FloatVector) c2.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xi + 128 + l), s4);
                s5 = ((FloatVector) c2.reinterpretAsInts()
                                .lanewise(VectorOperators.LSHR, 4)
                                .and(0x0F0F0F0F)
                                .reinterpretAsBytes()
                                .convertShape(VectorOperators.B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xi + 160 + l), s5);
                s6 = ((FloatVector) c3.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xi + 192 + l), s6);
                s7 = ((FloatVector) c3.reinterpretAsInts()
                                .lanewise(VectorOperators.LSHR, 4)
                                .and(0x0F0F0F0F)
                                .reinterpretAsBytes()
                                .convertShape(VectorOperators.B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xi + 224 + l), s7);
            }
            a0 = s0.fma(FloatVector.broadcast(F, scales[0]), a0);
            a1 = s1.fma(FloatVector.broadcast(F, scales[1]), a1);
            a2 = s2.fma(FloatVector.broadcast(F, scales[2]), a2);
            a3 = s3.fma(FloatVector.broadcast(F, scales[3]), a3);
            a4 = s4.fma(FloatVector.broadcast(F, scales[4]), a4);
            a5 = s5.fma(FloatVector.broadcast(F, scales[5]), a5);
            a6 = s6.fma(FloatVector.broadcast(F, scales[6]), a6);
            a7 = s7.fma(FloatVector.broadcast(F, scales[7]), a7);
        }
        return Kernels.sum(
                a0.add(a1).add(a2.add(a3)).add(a4.add(a5).add(a6.add(a7))).sub(mins));
    }

    /** 16-lane vectors: a block's 128 bytes of codes are two vectors of 32 shorts ({@link #dotPrepared}). */
    static final boolean WIDE = F.length() == 16;

    static final VectorSpecies<Byte> B64 = WIDE ? ByteVector.SPECIES_512 : null;

    /**
     * Where {@link #prepareInput} takes each of a block's 256 input codes from, in the order {@link #dotPrepared}
     * reads them: 8 vectors of 32 shorts, vector {@code 4c + 2t + u} for the c-th 64 code bytes (read as 32 shorts;
     * short i holds bytes 2i and 2i + 1 of 32-byte chunk {@code 2c + i / 16}), nibble half t (0: low nibbles, of
     * the chunk's first sub-block; 1: high nibbles, of its second), byte u of the short.
     */
    static final int[] ORDER = new int[256];

    static {
        for (int v = 0; v < 8; v++) {
            int c = v / 4, t = (v / 2) % 2, u = v % 2;
            for (int i = 0; i < 32; i++) {
                ORDER[32 * v + i] = 64 * (2 * c + i / 16) + 32 * t + 2 * (i % 16) + u;
            }
        }
    }

    /**
     * Per chunk of 64 code bytes and nibble half: lanes 0-7 take the scale of one sub-block, lanes 8-15 of the one two
     * further on ({@link #dotPrepared}).
     */
    static final VectorShuffle<Float> LANES_00 = scaleLanes(0, 0),
            LANES_01 = scaleLanes(0, 1),
            LANES_10 = scaleLanes(1, 0),
            LANES_11 = scaleLanes(1, 1);

    private static VectorShuffle<Float> scaleLanes(int chunk, int half) {
        if (!WIDE) {
            return null;
        }
        int[] lanes = new int[16];
        for (int i = 0; i < 16; i++) {
            lanes[i] = 4 * chunk + half + (i < 8 ? 0 : 2);
        }
        return VectorShuffle.fromArray(F, lanes, 0);
    }

    /**
     * The factored dot product in integers, as llama.cpp's Q4_K x Q8_K kernels compute it: per sub-block,
     * {@code d * scale * dx * (codes . input codes) - dmin * min * dx * sum(input codes)}. 64 bytes of codes are
     * read as 32 shorts; each short's four nibbles are taken out in place (a shift and a mask) and multiplied by the
     * matching input codes in 16-bit lanes; the low nibbles of both bytes (one sub-block) are added, and the high
     * ones (the next sub-block), at most 2 * 15 * 127 each; then the two shorts of each int are added (shift, add,
     * arithmetic shift), and each int, converted to a float, is multiplied by its sub-block's scale. Lanes 0-7 of
     * each int vector belong to one 32-byte chunk and lanes 8-15 to the next, so four accumulators take their
     * scales lane by lane ({@link #LANES_00} and the others). The kernel before it multiplied float inputs by codes
     * converted to floats (a mask, a conversion and a multiply-add per 16 values): in one process, rounds
     * alternating, 12.9 against 16.9 GB/s for this one (docs/performance.md).
     */
    @Override
    protected float dotPrepared(long row, float[] p) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        FloatVector mins = a0;
        int at = blockAt(row, 0);
        for (int b = 0; b < blocksPerRow; b++, at += blockBytes) {
            long w0 = i32(at + 4) & 0xFFFFFFFFL, w1 = i32(at + 8) & 0xFFFFFFFFL, w2 = i32(at + 12) & 0xFFFFFFFFL;
            long sc = (w0 & 0x3F3F3F3FL) | (((w2 & 0x0F0F0F0FL) | (((w0 >>> 6) & 0x03030303L) << 4)) << 32);
            long mn = (w1 & 0x3F3F3F3FL) | ((((w2 >>> 4) & 0x0F0F0F0FL) | (((w1 >>> 6) & 0x03030303L) << 4)) << 32);
            int o = BLOCK_SLOTS * b;
            float dx = p[o + 144];
            // lanes 0-7: d * dx * scale of sub-blocks 0-7; lanes 8-15: dmin * dx * their minimums
            FloatVector both = ((FloatVector) LongVector.zero(L128)
                            .withLane(0, sc)
                            .withLane(1, mn)
                            .reinterpretAsBytes()
                            .convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.broadcast(F, f16(at + 2) * dx).blend(f16(at) * dx, LOW_EIGHT));
            mins = both.fma(FloatVector.fromArray(F, p, o + 128), mins);
            ShortVector c0 = ByteVector.fromArray(B64, raw, at + 16).reinterpretAsShorts();
            ShortVector c1 = ByteVector.fromArray(B64, raw, at + 80).reinterpretAsShorts();
            // low nibbles of the first 64 bytes (sub-blocks 0 | 2), high ones (1 | 3); then of the next 64
            ShortVector s00 = c0.and((short) 0xF)
                    .mul(FloatVector.fromArray(F, p, o).reinterpretAsShorts())
                    .add(c0.lanewise(VectorOperators.LSHR, 8)
                            .and((short) 0xF)
                            .mul(FloatVector.fromArray(F, p, o + 16).reinterpretAsShorts()));
            IntVector w00 = s00.reinterpretAsInts();
            IntVector i00 = w00.add(w00.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            ShortVector s01 = c0.lanewise(VectorOperators.LSHR, 4)
                    .and((short) 0xF)
                    .mul(FloatVector.fromArray(F, p, o + 32).reinterpretAsShorts())
                    .add(c0.lanewise(VectorOperators.LSHR, 12)
                            .mul(FloatVector.fromArray(F, p, o + 48).reinterpretAsShorts()));
            IntVector w01 = s01.reinterpretAsInts();
            IntVector i01 = w01.add(w01.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            ShortVector s10 = c1.and((short) 0xF)
                    .mul(FloatVector.fromArray(F, p, o + 64).reinterpretAsShorts())
                    .add(c1.lanewise(VectorOperators.LSHR, 8)
                            .and((short) 0xF)
                            .mul(FloatVector.fromArray(F, p, o + 80).reinterpretAsShorts()));
            IntVector w10 = s10.reinterpretAsInts();
            IntVector i10 = w10.add(w10.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            ShortVector s11 = c1.lanewise(VectorOperators.LSHR, 4)
                    .and((short) 0xF)
                    .mul(FloatVector.fromArray(F, p, o + 96).reinterpretAsShorts())
                    .add(c1.lanewise(VectorOperators.LSHR, 12)
                            .mul(FloatVector.fromArray(F, p, o + 112).reinterpretAsShorts()));
            IntVector w11 = s11.reinterpretAsInts();
            IntVector i11 = w11.add(w11.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            a0 = ((FloatVector) i00.convert(VectorOperators.I2F, 0)).fma(both.rearrange(LANES_00), a0);
            a1 = ((FloatVector) i01.convert(VectorOperators.I2F, 0)).fma(both.rearrange(LANES_01), a1);
            a2 = ((FloatVector) i10.convert(VectorOperators.I2F, 0)).fma(both.rearrange(LANES_10), a2);
            a3 = ((FloatVector) i11.convert(VectorOperators.I2F, 0)).fma(both.rearrange(LANES_11), a3);
        }
        return Kernels.sum(a0.add(a1).add(a2.add(a3)).sub(mins));
    }
}
