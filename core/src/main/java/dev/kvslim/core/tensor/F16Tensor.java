package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/** Little-endian IEEE half-precision values. */
public final class F16Tensor extends FloatTensor {

    private static final VectorSpecies<Float> F = Kernels.F;
    private static final VectorSpecies<Short> S = HalfFloats.SHORTS;

    private final MemorySegment data;

    public F16Tensor(MemorySegment data, long rows, int cols) {
        super(rows, cols);
        this.data = Tensors.requireBytes(data, GgmlType.F16.bytesFor(rows * cols), "F16");
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public MemorySegment segment() {
        return data;
    }

    @Override
    public float get(long index) {
        return Float.float16ToFloat(data.getAtIndex(LittleEndian.I16, index));
    }

    @Override
    public float dot(long row, float[] x, int xOff) {
        long base = row * cols * 2L;
        int i = 0;
        float sum = 0f;
        int bound = F.loopBound(cols);
        if (bound > 0) {
            FloatVector acc = FloatVector.zero(F);
            for (; i < bound; i += F.length()) {
                ShortVector h = ShortVector.fromMemorySegment(S, data, base + 2L * i, ByteOrder.LITTLE_ENDIAN);
                acc = HalfFloats.widenF16(h).fma(FloatVector.fromArray(F, x, xOff + i), acc);
            }
            sum = Kernels.sum(acc);
        }
        for (; i < cols; i++) {
            sum += Float.float16ToFloat(data.get(LittleEndian.I16, base + 2L * i)) * x[xOff + i];
        }
        return sum;
    }
}
