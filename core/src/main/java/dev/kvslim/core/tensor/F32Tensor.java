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
                acc0 = FloatVector.fromMemorySegment(Kernels.F, data, base + (long) i * Float.BYTES, ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(Kernels.F, x, xOff + i), acc0);
                acc1 = FloatVector.fromMemorySegment(Kernels.F, data, base + (long) (i + step) * Float.BYTES, ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(Kernels.F, x, xOff + i + step), acc1);
            }
            for (; i < bound; i += step) {
                acc0 = FloatVector.fromMemorySegment(Kernels.F, data, base + (long) i * Float.BYTES, ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(Kernels.F, x, xOff + i), acc0);
            }
            sum = Kernels.sum(acc0.add(acc1));
        }
        for (; i < cols; i++) {
            sum += data.get(LittleEndian.F32, base + (long) i * Float.BYTES) * x[xOff + i];
        }
        return sum;
    }

    @Override
    public void dequantizeRow(long row, float[] out, int off) {
        MemorySegment.copy(data, LittleEndian.F32, row * cols * Float.BYTES, out, off, cols);
    }
}
