package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * GGML Q8_0: blocks of 32 values, each a half-float scale {@code d} followed by 32 signed bytes {@code q};
 * value = d * q. 34 bytes per block.
 */
public final class Q8_0Tensor extends FloatTensor {

    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 34;
    private static final VectorSpecies<Float> F = Kernels.F;
    /** Bytes widened to one float vector; none when float vectors are narrower than 64 bits of bytes. */
    private static final VectorSpecies<Byte> B =
            F.length() >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8)) : null;

    /** The tensor's bytes in GGML's block layout, copied onto the heap ({@link Tensors#onHeap}). */
    private final byte[] raw;

    public Q8_0Tensor(MemorySegment data, long rows, int cols) {
        super(rows, cols);
        Tensors.requireBlockRows(cols, BLOCK, "Q8_0");
        this.raw = Tensors.onHeap(data, GgmlType.Q8_0.bytesFor(rows * cols), "Q8_0");
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public MemorySegment segment() {
        return MemorySegment.ofArray(raw);
    }

    @Override
    public float get(long index) {
        int block = (int) (index / BLOCK) * BLOCK_BYTES;
        float d = Float.float16ToFloat(LittleEndian.i16(raw, block));
        return d * raw[block + 2 + (int) (index % BLOCK)];
    }

    @Override
    public float dot(long row, float[] x, int xOff) {
        if (B == null) {
            return dotByElement(row, x, xOff);
        }
        if (WIDE) {
            return dotPrepared(row, prepareInput(x, xOff));
        }
        int blocks = cols / BLOCK;
        int base = (int) row * blocks * BLOCK_BYTES;
        // even blocks into one accumulator, odd into the other; two blocks a step, so no branch in the loop
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        int b = 0;
        for (; b + 1 < blocks; b += 2) {
            int at0 = base + b * BLOCK_BYTES, at1 = at0 + BLOCK_BYTES;
            int xi = xOff + b * BLOCK;
            FloatVector s0 = FloatVector.zero(F), s1 = s0;
            for (int j = 0; j < BLOCK; j += F.length()) {
                s0 = codes(at0 + 2 + j).fma(FloatVector.fromArray(F, x, xi + j), s0);
                s1 = codes(at1 + 2 + j).fma(FloatVector.fromArray(F, x, xi + BLOCK + j), s1);
            }
            acc0 = s0.fma(FloatVector.broadcast(F, scale(at0)), acc0);
            acc1 = s1.fma(FloatVector.broadcast(F, scale(at1)), acc1);
        }
        if (b < blocks) {
            int at = base + b * BLOCK_BYTES;
            int xi = xOff + b * BLOCK;
            FloatVector s0 = FloatVector.zero(F);
            for (int j = 0; j < BLOCK; j += F.length()) {
                s0 = codes(at + 2 + j).fma(FloatVector.fromArray(F, x, xi + j), s0);
            }
            acc0 = s0.fma(FloatVector.broadcast(F, scale(at)), acc0);
        }
        return Kernels.sum(acc0.add(acc1));
    }

    /** 16-lane vectors (AVX-512): the integer kernel ({@link #dotPrepared}). */
    private static final boolean WIDE = B != null && F.length() == 16;

    private static final VectorSpecies<Byte> B32 = WIDE ? ByteVector.SPECIES_256 : null;
    private static final VectorSpecies<Short> S64 = WIDE ? ShortVector.SPECIES_512 : null;

    /** A block's 32 input codes in their own order. */
    private static final int[] IN_ORDER =
            java.util.stream.IntStream.range(0, BLOCK).toArray();

    @Override
    protected boolean prepares() {
        return WIDE;
    }

    /**
     * {@code x[xOff ..]} for {@link #dotPrepared}: each block of 32 rounded to codes as llama.cpp's Q8_0
     * ({@link Int8Input#q8_0}), 16 slots of codes per block; then one slot per block, its input
     * scale.
     */
    @Override
    protected float[] prepareInput(float[] x, int xOff) {
        int blocks = cols / BLOCK;
        float[] p = new float[17 * blocks];
        MemorySegment slots = MemorySegment.ofArray(p);
        byte[] codes = new byte[BLOCK];
        for (int b = 0; b < blocks; b++) {
            p[16 * blocks + b] = Int8Input.q8_0(x, xOff + BLOCK * b, codes, 0);
            Int8Input.putCodes(slots, 16 * b, codes, 0, IN_ORDER);
        }
        return p;
    }

    /**
     * Row {@code row} dotted with the {@linkplain #prepareInput prepared} input in integers, as llama.cpp's Q8_0 x Q8_0
     * kernels do: a block's 32 code bytes widened to shorts, multiplied by the input codes in 16-bit lanes (at most
     * 128 * 127 each), the two shorts of each int added (shift, add, arithmetic shift: at most 2 * 128 * 127, still
     * within 16 bits), then one conversion to float and one multiply-add by the block's two scales per 32 values;
     * even and odd blocks into two accumulators. The float kernel before it (codes widened to floats, four rows per
     * pass sharing the input's loads) read 26.3 GB/s of the 1B model's matrices in one process, rounds alternating,
     * this one 32.3 GB/s (docs/performance.md).
     */
    @Override
    protected float dotPrepared(long row, float[] p) {
        int blocks = cols / BLOCK;
        int base = (int) row * blocks * BLOCK_BYTES;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        int b = 0;
        for (; b + 1 < blocks; b += 2) {
            int at = base + b * BLOCK_BYTES;
            float d0 = scale(at) * p[16 * blocks + b];
            float d1 = scale(at + BLOCK_BYTES) * p[16 * blocks + b + 1];
            IntVector s0 = ((ShortVector)
                            ByteVector.fromArray(B32, raw, at + 2).convertShape(VectorOperators.B2S, S64, 0))
                    .mul(FloatVector.fromArray(F, p, 16 * b).reinterpretAsShorts())
                    .reinterpretAsInts();
            IntVector s1 = ((ShortVector) ByteVector.fromArray(B32, raw, at + BLOCK_BYTES + 2)
                            .convertShape(VectorOperators.B2S, S64, 0))
                    .mul(FloatVector.fromArray(F, p, 16 * b + 16).reinterpretAsShorts())
                    .reinterpretAsInts();
            s0 = s0.add(s0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            s1 = s1.add(s1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            acc0 = ((FloatVector) s0.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d0), acc0);
            acc1 = ((FloatVector) s1.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d1), acc1);
        }
        if (b < blocks) {
            int at = base + b * BLOCK_BYTES;
            IntVector s0 = ((ShortVector)
                            ByteVector.fromArray(B32, raw, at + 2).convertShape(VectorOperators.B2S, S64, 0))
                    .mul(FloatVector.fromArray(F, p, 16 * b).reinterpretAsShorts())
                    .reinterpretAsInts();
            s0 = s0.add(s0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            acc0 = ((FloatVector) s0.convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(F, scale(at) * p[16 * blocks + b]), acc0);
        }
        return Kernels.sum(acc0.add(acc1));
    }

    /** One float vector of codes from byte {@code at} (small enough for the JIT to inline). */
    private FloatVector codes(int at) {
        return (FloatVector) ByteVector.fromArray(B, raw, at).convertShape(VectorOperators.B2F, F, 0);
    }

    private float scale(int at) {
        return Float.float16ToFloat(LittleEndian.i16(raw, at));
    }

    @Override
    public void dequantizeRow(long row, float[] out, int off) {
        if (B == null) {
            super.dequantizeRow(row, out, off);
            return;
        }
        int blocks = cols / BLOCK;
        int base = (int) row * blocks * BLOCK_BYTES;
        for (int b = 0; b < blocks; b++) {
            int at = base + b * BLOCK_BYTES;
            float d = scale(at);
            for (int j = 0; j < BLOCK; j += F.length()) {
                codes(at + 2 + j).mul(d).intoArray(out, off + b * BLOCK + j);
            }
        }
    }
}
