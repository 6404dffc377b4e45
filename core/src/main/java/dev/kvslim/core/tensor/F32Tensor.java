package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;

/** Little-endian IEEE float32 values. */
public final class F32Tensor extends FloatTensor {

    private final MemorySegment data;

    public F32Tensor(MemorySegment data, long rows, int cols) {
        super(rows, cols);
        this.data = Tensors.requireBytes(data, GgmlType.F32.bytesFor(rows * cols), "F32");
    }

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public MemorySegment segment() {
        return data;
    }

    @Override
    protected boolean nativeInBf16() {
        return false;
    }

    @Override
    protected MemorySegment nativeWeights(boolean bf16) {
        return bf16 ? null : data;
    }

    @Override
    public float get(long index) {
        return data.getAtIndex(LittleEndian.F32, index);
    }

    @Override
    public float dot(long row, float[] x, int xOff) {
        long base = row * cols * Float.BYTES;
        int i = 0;
        float sum = 0f;
        int bound = Kernels.F.loopBound(cols);
        if (bound > 0) {
            FloatVector acc0 = FloatVector.zero(Kernels.F);
            FloatVector acc1 = acc0;
            int step = Kernels.F.length();
            for (; i + step < bound; i += 2 * step) {
                acc0 = FloatVector.fromMemorySegment(
                                Kernels.F, data, base + (long) i * Float.BYTES, ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(Kernels.F, x, xOff + i), acc0);
                acc1 = FloatVector.fromMemorySegment(
                                Kernels.F, data, base + (long) (i + step) * Float.BYTES, ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(Kernels.F, x, xOff + i + step), acc1);
            }
            for (; i < bound; i += step) {
                acc0 = FloatVector.fromMemorySegment(
                                Kernels.F, data, base + (long) i * Float.BYTES, ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(Kernels.F, x, xOff + i), acc0);
            }
            sum = Kernels.sum(acc0.add(acc1));
        }
        for (; i < cols; i++) {
            sum += data.get(LittleEndian.F32, base + (long) i * Float.BYTES) * x[xOff + i];
        }
        return sum;
    }

    /** Four rows at a time through {@link #dot4}, which keeps more memory reads in flight. */
    @Override
    protected void dotRows(int from, int to, float[] x, float[] out) {
        int r = from;
        for (; r + 4 <= to; r += 4) {
            dot4(r, x, 0, out, r);
        }
        for (; r < to; r++) {
            out[r] = dot(r, x, 0);
        }
    }

    /** {@link #dot} of four rows in one pass: the same sums in the same order, each row's x loads shared. */
    public void dot4(long row, float[] x, int xOff, float[] out, int outOff) {
        long stride = (long) cols * Float.BYTES;
        long b0 = row * stride, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
        int step = Kernels.F.length();
        int bound = Kernels.F.loopBound(cols);
        int i = 0;
        if (bound > 0) {
            FloatVector a0 = FloatVector.zero(Kernels.F), a1 = a0, a2 = a0, a3 = a0;
            FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0;
            for (; i + step < bound; i += 2 * step) {
                FloatVector x0 = FloatVector.fromArray(Kernels.F, x, xOff + i);
                FloatVector x1 = FloatVector.fromArray(Kernels.F, x, xOff + i + step);
                long o0 = (long) i * Float.BYTES, o1 = (long) (i + step) * Float.BYTES;
                a0 = load(b0 + o0).fma(x0, a0);
                c0 = load(b0 + o1).fma(x1, c0);
                a1 = load(b1 + o0).fma(x0, a1);
                c1 = load(b1 + o1).fma(x1, c1);
                a2 = load(b2 + o0).fma(x0, a2);
                c2 = load(b2 + o1).fma(x1, c2);
                a3 = load(b3 + o0).fma(x0, a3);
                c3 = load(b3 + o1).fma(x1, c3);
            }
            for (; i < bound; i += step) {
                FloatVector x0 = FloatVector.fromArray(Kernels.F, x, xOff + i);
                long o0 = (long) i * Float.BYTES;
                a0 = load(b0 + o0).fma(x0, a0);
                a1 = load(b1 + o0).fma(x0, a1);
                a2 = load(b2 + o0).fma(x0, a2);
                a3 = load(b3 + o0).fma(x0, a3);
            }
            out[outOff] = Kernels.sum(a0.add(c0));
            out[outOff + 1] = Kernels.sum(a1.add(c1));
            out[outOff + 2] = Kernels.sum(a2.add(c2));
            out[outOff + 3] = Kernels.sum(a3.add(c3));
        } else {
            out[outOff] = out[outOff + 1] = out[outOff + 2] = out[outOff + 3] = 0f;
        }
        for (; i < cols; i++) {
            long o = (long) i * Float.BYTES;
            out[outOff] += data.get(LittleEndian.F32, b0 + o) * x[xOff + i];
            out[outOff + 1] += data.get(LittleEndian.F32, b1 + o) * x[xOff + i];
            out[outOff + 2] += data.get(LittleEndian.F32, b2 + o) * x[xOff + i];
            out[outOff + 3] += data.get(LittleEndian.F32, b3 + o) * x[xOff + i];
        }
    }

    private FloatVector load(long at) {
        return FloatVector.fromMemorySegment(Kernels.F, data, at, ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public void dequantizeRow(long row, float[] out, int off) {
        MemorySegment.copy(data, LittleEndian.F32, row * cols * Float.BYTES, out, off, cols);
    }
}
