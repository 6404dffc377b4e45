package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * GGML Q4_0: blocks of 32 values, each a half-float scale {@code d} followed by 16 bytes; byte j holds value j
 * in its low nibble and value j+16 in its high nibble, both offset by 8: value = d * (nibble - 8).
 * 18 bytes per block.
 *
 * <p>With 16-lane vectors a product rounds its input to 8-bit codes first and multiplies in integers, as llama.cpp
 * does ({@link #dotPrepared}, {@link Int8Input}).
 *
 * <p>Repacked at load, row by row, into the same bytes in another order: a row's scales first (2 bytes per block),
 * then its blocks' 16 code bytes each, in GGML's order. Rows keep their size and place; {@link #segment} builds
 * GGML's layout again when asked (for writing a file). The repacking is one pass over the bytes the load copies
 * anyway, and costs no memory; it lets {@link #dotPrepared} read the codes of four blocks as one vector of shorts
 * and their scales as one small vector.
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

    /** With 16-lane vectors and finite scales: the integer kernel ({@link #dotPrepared}). */
    @Override
    protected boolean prepares() {
        return wide;
    }

    /** 16-lane vectors (AVX-512): four blocks' codes are one vector of 32 shorts. */
    private static final boolean WIDE = F.length() == 16;

    private static final VectorSpecies<Byte> B64 = WIDE ? ByteVector.SPECIES_512 : null;
    private static final VectorSpecies<Byte> B8 = WIDE ? ByteVector.SPECIES_64 : null;

    /** Lane i takes lane i / 4: four blocks' scales, each over the four ints of its codes. */
    private static final VectorShuffle<Float> SCALE_LANES = WIDE ? VectorShuffle.fromOp(F, i -> i / 4) : null;

    /**
     * Where {@link #prepareInput} takes each of a group's 128 input codes from: short {@code 32k + 8j + m} (lane
     * {@code 8j + m} of the k-th vector) is the code of the value that nibble k of short m of block j's codes holds
     * (the 16 code bytes of a block read as 8 shorts: nibble 0 and 2 are the low nibbles of bytes 2m and 2m + 1,
     * values 2m and 2m + 1; nibbles 1 and 3 their high nibbles, values 2m + 16 and 2m + 17).
     */
    private static final int[] ORDER = new int[128];

    static {
        for (int k = 0; k < 4; k++) {
            for (int j = 0; j < 4; j++) {
                for (int m = 0; m < 8; m++) {
                    ORDER[32 * k + 8 * j + m] = 32 * j + 2 * m + (k >= 2 ? 1 : 0) + (k % 2 == 1 ? 16 : 0);
                }
            }
        }
    }

    /**
     * Slots per group of four blocks in {@link #prepareInput}: 64 of codes (128 shorts), 16 of int offsets, 16 of
     * input scales.
     */
    private static final int GROUP = 96;

    /**
     * {@code x[xOff ..]} for {@link #dotPrepared}, 96 slots per four blocks: each block of 32 rounded to codes as
     * llama.cpp's Q8_0 ({@link Int8Input#q8_0}), the 128 codes in the order of {@link #ORDER};
     * then 16 ints, lane i's -8 times the sum of the 8 codes it meets (the weight codes' offset of 8, factored
     * out); then 16 floats, lane i's input scale (block i / 4's).
     */
    @Override
    protected float[] prepareInput(float[] x, int xOff) {
        float[] p = new float[blocks / 4 * GROUP];
        MemorySegment slots = MemorySegment.ofArray(p);
        byte[] codes = new byte[128];
        for (int g = 0; g < blocks / 4; g++) {
            int o = GROUP * g;
            for (int j = 0; j < 4; j++) {
                float d = Int8Input.q8_0(x, xOff + 128 * g + 32 * j, codes, 32 * j);
                for (int l = 0; l < 4; l++) {
                    p[o + 80 + 4 * j + l] = d;
                }
            }
            Int8Input.putCodes(slots, o, codes, 0, ORDER);
            for (int l = 0; l < 16; l++) {
                int sum = 0;
                for (int k = 0; k < 4; k++) {
                    sum += codes[ORDER[32 * k + 2 * l]] + codes[ORDER[32 * k + 2 * l + 1]];
                }
                Int8Input.putInt(slots, o + 64 + l, -8 * sum);
            }
        }
        return p;
    }

    /**
     * Row {@code row} dotted with the {@linkplain #prepareInput prepared} input in integers, four blocks at a time, as
     * llama.cpp's Q4_0 x Q8_0 kernels do: 64 code bytes are read as 32 shorts, each short's four nibbles taken out
     * in place (a shift and a mask) and multiplied by the matching input codes in 16-bit lanes (4 products of at
     * most 15 * 127, summed: no overflow), the two shorts of each int added (shift, add, arithmetic shift), the
     * offsets added; then per lane one conversion to float and one multiply-add by the block's two scales. A
     * group's four weight scales are widened from half floats in a vector ({@link HalfFloats#widenF16Scales},
     * exact for every finite half float). The kernel before it multiplied float inputs by codes converted to floats
     * (per group 8 conversions and 9 multiply-adds, here 1 conversion, 1 multiply and 1 multiply-add): the 1B
     * model's matrices in one process, rounds alternating between the two, read 18.3 GB/s with it and 25.2 GB/s
     * with this one (best rounds, 2 threads, AMD EPYC); see docs/performance.md.
     * Kept in a register from one group to the next (16 scales converted every fourth group), the scale vector was
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
            ShortVector c = ByteVector.fromArray(B64, raw, codes + 64 * g).reinterpretAsShorts();
            int o = GROUP * g;
            ShortVector s =
                    c.and((short) 0xF).mul(FloatVector.fromArray(F, p, o).reinterpretAsShorts());
            s = s.add(c.lanewise(VectorOperators.LSHR, 4)
                    .and((short) 0xF)
                    .mul(FloatVector.fromArray(F, p, o + 16).reinterpretAsShorts()));
            s = s.add(c.lanewise(VectorOperators.LSHR, 8)
                    .and((short) 0xF)
                    .mul(FloatVector.fromArray(F, p, o + 32).reinterpretAsShorts()));
            s = s.add(c.lanewise(VectorOperators.LSHR, 12)
                    .mul(FloatVector.fromArray(F, p, o + 48).reinterpretAsShorts()));
            // each int's two shorts added in its top half, moved down with their sign
            IntVector w = s.reinterpretAsInts();
            IntVector sums = w.add(w.lanewise(VectorOperators.LSHL, 16))
                    .lanewise(VectorOperators.ASHR, 16)
                    .add(FloatVector.fromArray(F, p, o + 64).reinterpretAsInts());
            FloatVector scale = scales.rearrange(SCALE_LANES).mul(FloatVector.fromArray(F, p, o + 80));
            acc = ((FloatVector) sums.convert(VectorOperators.I2F, 0)).fma(scale, acc);
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
