package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * GGML Q4_0: blocks of 32 values, each a half-float scale {@code d} followed by 16 bytes; byte j holds value j
 * in its low nibble and value j+16 in its high nibble, both offset by 8: value = d * (nibble - 8).
 * 18 bytes per block.
 *
 * <p>Repacked at load, row by row, into the same bytes in another order: a row's scales first (2 bytes per block),
 * then its blocks' 16 code bytes each, in GGML's order. Rows keep their size and place; {@link #segment} builds
 * GGML's layout again when asked (for writing a file). The repacking is one pass over the bytes the load copies
 * anyway, and costs no memory; it lets {@link #dotPrepared} read the codes of four blocks as one vector of ints and the
 * scales of sixteen blocks as one vector.
 */
public final class Q4_0Tensor extends FloatTensor {

    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 18;
    private static final VectorSpecies<Float> F = Kernels.F;
    /** Bytes widened to one float vector; none when float vectors are narrower than 64 bits of bytes. */
    private static final VectorSpecies<Byte> B =
            F.length() >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8)) : null;

    /** The tensor's bytes, repacked row by row (see the class comment). */
    private final byte[] raw;

    private final int blocks;
    private final int rowBytes;
    /** Whether rows go through {@link #dotPrepared}: 16-lane vectors, whole groups of four blocks, finite scales. */
    private final boolean wide;

    public Q4_0Tensor(MemorySegment data, long rows, int cols) {
        super(rows, cols);
        Tensors.requireBlockRows(cols, BLOCK, "Q4_0");
        this.raw = Tensors.onHeap(data, GgmlType.Q4_0.bytesFor(rows * cols), "Q4_0");
        this.blocks = cols / BLOCK;
        this.rowBytes = blocks * BLOCK_BYTES;
        boolean finite = repack();
        this.wide = WIDE && blocks % 4 == 0 && finite;
    }

    /** GGML's blocks to this tensor's layout, in place, one row at a time; whether every scale is finite. */
    private boolean repack() {
        byte[] row = new byte[rowBytes];
        boolean finite = true;
        for (long r = 0; r < rows; r++) {
            int base = (int) r * rowBytes;
            System.arraycopy(raw, base, row, 0, rowBytes);
            for (int b = 0; b < blocks; b++) {
                raw[base + 2 * b] = row[b * BLOCK_BYTES];
                raw[base + 2 * b + 1] = row[b * BLOCK_BYTES + 1];
                System.arraycopy(row, b * BLOCK_BYTES + 2, raw, base + 2 * blocks + 16 * b, 16);
                finite &= Float.isFinite(Float.float16ToFloat(LittleEndian.i16(row, b * BLOCK_BYTES)));
            }
        }
        return finite;
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    /** The bytes in GGML's block layout: a copy, built from the repacked rows. */
    @Override
    public MemorySegment segment() {
        byte[] ggml = new byte[raw.length];
        for (long r = 0; r < rows; r++) {
            int base = (int) r * rowBytes;
            for (int b = 0; b < blocks; b++) {
                ggml[base + b * BLOCK_BYTES] = raw[base + 2 * b];
                ggml[base + b * BLOCK_BYTES + 1] = raw[base + 2 * b + 1];
                System.arraycopy(raw, base + 2 * blocks + 16 * b, ggml, base + b * BLOCK_BYTES + 2, 16);
            }
        }
        return MemorySegment.ofArray(ggml);
    }

    @Override
    public long byteSize() {
        return raw.length;
    }

    /** Byte offset of block {@code b}'s scale in row {@code row}. */
    private int scaleAt(long row, int b) {
        return (int) row * rowBytes + 2 * b;
    }

    /** Byte offset of block {@code b}'s 16 code bytes in row {@code row}. */
    private int codesAt(long row, int b) {
        return (int) row * rowBytes + 2 * blocks + 16 * b;
    }

    @Override
    public float get(long index) {
        long row = index / cols;
        int c = (int) (index % cols), b = c / BLOCK, j = c % BLOCK;
        float d = Float.float16ToFloat(LittleEndian.i16(raw, scaleAt(row, b)));
        int packed = raw[codesAt(row, b) + (j & 15)] & 0xFF;
        int nibble = j < 16 ? packed & 0xF : packed >>> 4;
        return d * (nibble - 8);
    }

    @Override
    public float dot(long row, float[] x, int xOff) {
        if (B == null) {
            return dotByElement(row, x, xOff);
        }
        if (wide) {
            return dotPrepared(row, prepareInput(x, xOff));
        }
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            float d = Float.float16ToFloat(LittleEndian.i16(raw, scaleAt(row, b)));
            int at = codesAt(row, b), xi = xOff + b * BLOCK;
            FloatVector sum = FloatVector.zero(F);
            for (int j = 0; j < 16; j += F.length()) {
                sum = low(at + j).fma(FloatVector.fromArray(F, x, xi + j), sum);
                sum = high(at + j).fma(FloatVector.fromArray(F, x, xi + 16 + j), sum);
            }
            acc = sum.fma(FloatVector.broadcast(F, d), acc);
        }
        return Kernels.sum(acc);
    }

    /** With 16-lane vectors and finite scales: four blocks' codes read as ints ({@link #dotPrepared}). */
    @Override
    protected boolean prepares() {
        return wide;
    }

    /** 16-lane vectors (AVX-512): four blocks' codes are one vector of 16 ints. */
    private static final boolean WIDE = F.length() == 16;

    private static final VectorSpecies<Byte> B64 = WIDE ? ByteVector.SPECIES_512 : null;
    private static final VectorSpecies<Byte> B8 = WIDE ? ByteVector.SPECIES_64 : null;

    /** Lane i takes lane i / 4: four blocks' scales, each over the four ints of its codes. */
    private static final VectorShuffle<Float> SCALE_LANES = WIDE ? VectorShuffle.fromOp(F, i -> i / 4) : null;

    /**
     * Where {@link #prepareInput} takes each input value of a group of four blocks (128 values) from: entry
     * {@code 16 * v + i} is the value lane i of the v-th code vector holds, v = 2k + h for nibble half h of byte k
     * of each int (int i holds bytes 4(i % 4) .. 4(i % 4) + 3 of block i / 4).
     */
    private static final int[] ORDER = new int[128];

    /** The power of two each of a group's 8 input vectors carries: 2^-(bit position of its nibble). */
    private static final float[] NIBBLE_WEIGHT = new float[8];

    static {
        for (int v = 0; v < 8; v++) {
            int k = v / 2, h = v % 2;
            // the top nibble is shifted down instead of masked in place (the int's sign bit)
            NIBBLE_WEIGHT[v] = k == 3 && h == 1 ? 1f : Math.scalb(1f, -(8 * k + 4 * h));
            for (int i = 0; i < 16; i++) {
                ORDER[16 * v + i] = 32 * (i / 4) + 16 * h + 4 * (i % 4) + k;
            }
        }
    }

    /** Floats per group of four blocks in {@link #prepareInput}: 8 input vectors and the offset vector. */
    private static final int GROUP = 144;

    /**
     * {@code x[xOff ..]} for {@link #dotPrepared}, 144 floats per four blocks: the 128 values rearranged into the order
     * the codes are read in ({@link #ORDER}), each times its nibble's {@link #NIBBLE_WEIGHT}, then 16 floats of
     * offsets: lane i holds -8 times the sum of the 8 values lane i meets (the codes' offset of 8, factored out).
     */
    @Override
    protected float[] prepareInput(float[] x, int xOff) {
        float[] p = new float[blocks / 4 * GROUP];
        for (int g = 0; g < blocks / 4; g++) {
            int in = xOff + 128 * g, o = GROUP * g;
            for (int j = 0; j < 128; j++) {
                float v = x[in + ORDER[j]];
                p[o + j] = v * NIBBLE_WEIGHT[j >>> 4];
                p[o + 128 + (j & 15)] += v;
            }
            for (int i = 0; i < 16; i++) {
                p[o + 128 + i] *= -8f;
            }
        }
        return p;
    }

    /**
     * Row {@code row} dotted with the {@linkplain #prepareInput prepared} input, four blocks at a time, without widening
     * bytes (as {@link Q4_KTensor}'s kernel): 64 code bytes are read as 16 ints, the nibble at bit position p of
     * each int masked in place and converted to a float (the code times 2^p, exactly; the input carries 2^-p), eight
     * multiply-adds per group into one sum that starts from the offsets, then times each block's scale in its four
     * lanes. A group's four scales are widened from half floats in a vector ({@link HalfFloats#widenF16Scales}, exact for
     * every finite half float).
     * Kept in a register from one group to the next (16 scales converted every fourth group), the vector was
     * boxed on the heap in some runs of the JIT: a young collection every few milliseconds, decode at a quarter of
     * the speed.
     */
    @Override
    protected float dotPrepared(long row, float[] p) {
        int base = (int) row * rowBytes;
        FloatVector acc = FloatVector.zero(F);
        int codes = base + 2 * blocks;
        for (int g = 0; g < blocks / 4; g++) {
            // the group's four scales in lanes 0-3
            FloatVector scales = HalfFloats.widenF16Scales(
                    ByteVector.fromArray(B8, raw, base + 8 * g).reinterpretAsShorts());
            IntVector c = ByteVector.fromArray(B64, raw, codes + 64 * g).reinterpretAsInts();
            int pi = GROUP * g;
            FloatVector s = ((FloatVector) c.and(0xF).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, p, pi), FloatVector.fromArray(F, p, pi + 128));
            s = ((FloatVector) c.and(0xF0).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, p, pi + 16), s);
            s = ((FloatVector) c.and(0xF00).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, p, pi + 32), s);
            s = ((FloatVector) c.and(0xF000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, p, pi + 48), s);
            s = ((FloatVector) c.and(0xF0000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, p, pi + 64), s);
            s = ((FloatVector) c.and(0xF00000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, p, pi + 80), s);
            s = ((FloatVector) c.and(0xF000000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, p, pi + 96), s);
            s = ((FloatVector) c.lanewise(VectorOperators.LSHR, 28).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, p, pi + 112), s);
            acc = s.fma(scales.rearrange(SCALE_LANES), acc);
        }
        return Kernels.sum(acc);
    }

    /** Low nibbles of the packed bytes from byte {@code at}, less 8, as floats (small enough for the JIT to inline). */
    private FloatVector low(int at) {
        return (FloatVector)
                ByteVector.fromArray(B, raw, at).and((byte) 0xF).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0);
    }

    /** High nibbles of the packed bytes from byte {@code at}, less 8, as floats; x86 has no byte shift, so 32-bit
     * lanes are shifted and the nibbles that crossed a byte masked off. */
    private FloatVector high(int at) {
        return (FloatVector) ByteVector.fromArray(B, raw, at)
                .reinterpretAsInts()
                .lanewise(VectorOperators.LSHR, 4)
                .and(0x0F0F0F0F)
                .reinterpretAsBytes()
                .sub((byte) 8)
                .convertShape(VectorOperators.B2F, F, 0);
    }

    @Override
    public void dequantizeRow(long row, float[] out, int off) {
        if (B == null) {
            super.dequantizeRow(row, out, off);
            return;
        }
        for (int b = 0; b < blocks; b++) {
            float d = Float.float16ToFloat(LittleEndian.i16(raw, scaleAt(row, b)));
            int at = codesAt(row, b), o = off + b * BLOCK;
            for (int j = 0; j < 16; j += F.length()) {
                low(at + j).mul(d).intoArray(out, o + j);
                high(at + j).mul(d).intoArray(out, o + 16 + j);
            }
        }
    }
}
