package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
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

    /** Four rows at a time ({@link #dot4}), which keeps four streams of reads from memory in flight. */
    @Override
    protected void dotRows(int from, int to, float[] x, float[] out) {
        int r = from;
        if (B != null && F.length() == 16) {
            for (; r + 4 <= to; r += 4) {
                dot4(r, x, out);
            }
        }
        for (; r < to; r++) {
            out[r] = dot(r, x, 0);
        }
    }

    /**
     * {@link #dot} of rows {@code row .. row+3} into {@code out[row ..]}: the same operations in the same order for
     * each row (16-lane vectors: a block is two of them), the x loads shared.
     */
    private void dot4(int row, float[] x, float[] out) {
        int blocks = cols / BLOCK;
        int stride = blocks * BLOCK_BYTES;
        int r0 = row * stride, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
        FloatVector e0 = FloatVector.zero(F), e1 = e0, e2 = e0, e3 = e0; // even blocks
        FloatVector o0 = e0, o1 = e0, o2 = e0, o3 = e0; // odd blocks
        for (int b = 0; b < blocks; b++) {
            int at = b * BLOCK_BYTES + 2;
            FloatVector xa = FloatVector.fromArray(F, x, b * BLOCK), xb = FloatVector.fromArray(F, x, b * BLOCK + 16);
            FloatVector s0 = codes(r0 + at).mul(xa), s1 = codes(r1 + at).mul(xa);
            FloatVector s2 = codes(r2 + at).mul(xa), s3 = codes(r3 + at).mul(xa);
            s0 = codes(r0 + at + 16).fma(xb, s0);
            s1 = codes(r1 + at + 16).fma(xb, s1);
            s2 = codes(r2 + at + 16).fma(xb, s2);
            s3 = codes(r3 + at + 16).fma(xb, s3);
            int d = b * BLOCK_BYTES;
            if ((b & 1) == 0) {
                e0 = s0.fma(FloatVector.broadcast(F, scale(r0 + d)), e0);
                e1 = s1.fma(FloatVector.broadcast(F, scale(r1 + d)), e1);
                e2 = s2.fma(FloatVector.broadcast(F, scale(r2 + d)), e2);
                e3 = s3.fma(FloatVector.broadcast(F, scale(r3 + d)), e3);
            } else {
                o0 = s0.fma(FloatVector.broadcast(F, scale(r0 + d)), o0);
                o1 = s1.fma(FloatVector.broadcast(F, scale(r1 + d)), o1);
                o2 = s2.fma(FloatVector.broadcast(F, scale(r2 + d)), o2);
                o3 = s3.fma(FloatVector.broadcast(F, scale(r3 + d)), o3);
            }
        }
        out[row] = Kernels.sum(e0.add(o0));
        out[row + 1] = Kernels.sum(e1.add(o1));
        out[row + 2] = Kernels.sum(e2.add(o2));
        out[row + 3] = Kernels.sum(e3.add(o3));
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
