package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * GGML Q4_0: blocks of 32 values, each a half-float scale {@code d} followed by 16 bytes; byte j holds value j
 * in its low nibble and value j+16 in its high nibble, both offset by 8: value = d * (nibble - 8).
 * 18 bytes per block.
 */
public final class Q4_0Tensor extends FloatTensor {

    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 18;
    private static final VectorSpecies<Float> F = Kernels.F;
    /** Bytes widened to one float vector; none when float vectors are narrower than 64 bits of bytes. */
    private static final VectorSpecies<Byte> B =
            F.length() >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8)) : null;

    /** The tensor's bytes in GGML's block layout, copied onto the heap ({@link Tensors#onHeap}). */
    private final byte[] raw;

    public Q4_0Tensor(MemorySegment data, long rows, int cols) {
        super(rows, cols);
        Tensors.requireBlockRows(cols, BLOCK, "Q4_0");
        this.raw = Tensors.onHeap(data, GgmlType.Q4_0.bytesFor(rows * cols), "Q4_0");
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public MemorySegment segment() {
        return MemorySegment.ofArray(raw);
    }

    @Override
    public float get(long index) {
        int block = (int) (index / BLOCK) * BLOCK_BYTES;
        float d = Float.float16ToFloat(LittleEndian.i16(raw, block));
        int j = (int) (index % BLOCK);
        int packed = raw[block + 2 + (j & 15)] & 0xFF;
        int nibble = j < 16 ? packed & 0xF : packed >>> 4;
        return d * (nibble - 8);
    }

    @Override
    public float dot(long row, float[] x, int xOff) {
        if (B == null) {
            return dotByElement(row, x, xOff);
        }
        int blocks = cols / BLOCK;
        int base = (int) row * blocks * BLOCK_BYTES;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            int at = base + b * BLOCK_BYTES;
            float d = Float.float16ToFloat(LittleEndian.i16(raw, at));
            int xi = xOff + b * BLOCK;
            FloatVector sum = FloatVector.zero(F);
            for (int j = 0; j < 16; j += F.length()) {
                sum = low(at + 2 + j).fma(FloatVector.fromArray(F, x, xi + j), sum);
                sum = high(at + 2 + j).fma(FloatVector.fromArray(F, x, xi + 16 + j), sum);
            }
            acc = sum.fma(FloatVector.broadcast(F, d), acc);
        }
        return Kernels.sum(acc);
    }

    /**
     * Two rows at a time ({@link #dot2}), which keeps two streams of reads from memory in flight (four rows made a
     * method too large for the JIT to inline its parts).
     */
    @Override
    protected void dotRows(int from, int to, float[] x, float[] out) {
        int r = from;
        if (B != null && F.length() == 16) {
            for (; r + 2 <= to; r += 2) {
                dot2(r, x, out);
            }
        }
        for (; r < to; r++) {
            out[r] = dot(r, x, 0);
        }
    }

    /**
     * {@link #dot} of rows {@code row} and {@code row+1} into {@code out[row ..]}: the same operations in the same
     * order for each row (16-lane vectors: a block's low and high nibbles are one vector each), the x loads shared.
     */
    private void dot2(int row, float[] x, float[] out) {
        int blocks = cols / BLOCK;
        int stride = blocks * BLOCK_BYTES;
        int r0 = row * stride, r1 = r0 + stride;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int b = 0; b < blocks; b++) {
            int at = b * BLOCK_BYTES;
            FloatVector xl = FloatVector.fromArray(F, x, b * BLOCK), xh = FloatVector.fromArray(F, x, b * BLOCK + 16);
            FloatVector s0 = low(r0 + at + 2).mul(xl), s1 = low(r1 + at + 2).mul(xl);
            s0 = high(r0 + at + 2).fma(xh, s0);
            s1 = high(r1 + at + 2).fma(xh, s1);
            a0 = s0.fma(FloatVector.broadcast(F, Float.float16ToFloat(LittleEndian.i16(raw, r0 + at))), a0);
            a1 = s1.fma(FloatVector.broadcast(F, Float.float16ToFloat(LittleEndian.i16(raw, r1 + at))), a1);
        }
        out[row] = Kernels.sum(a0);
        out[row + 1] = Kernels.sum(a1);
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
        int blocks = cols / BLOCK;
        int base = (int) row * blocks * BLOCK_BYTES;
        for (int b = 0; b < blocks; b++) {
            int at = base + b * BLOCK_BYTES;
            float d = Float.float16ToFloat(LittleEndian.i16(raw, at));
            int o = off + b * BLOCK;
            for (int j = 0; j < 16; j += F.length()) {
                low(at + 2 + j).mul(d).intoArray(out, o + j);
                high(at + 2 + j).mul(d).intoArray(out, o + 16 + j);
            }
        }
    }
}
