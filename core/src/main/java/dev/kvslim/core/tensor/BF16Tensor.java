package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/** Little-endian bfloat16 values: the upper half of a float32. */
public final class BF16Tensor extends FloatTensor {

    private static final VectorSpecies<Float> F = Kernels.F;
    private static final VectorSpecies<Short> S = HalfFloats.SHORTS;

    private final MemorySegment data;

    public BF16Tensor(MemorySegment data, long rows, int cols) {
        super(rows, cols);
        this.data = Tensors.requireBytes(data, GgmlType.BF16.bytesFor(rows * cols), "BF16");
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    @Override
    public MemorySegment segment() {
        return data;
    }

    public static float toFloat(short bits) {
        return HalfFloats.bf16ToFloat(bits);
    }

    @Override
    public float get(long index) {
        return toFloat(data.getAtIndex(LittleEndian.I16, index));
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
                acc = HalfFloats.widenBf16(h).fma(FloatVector.fromArray(F, x, xOff + i), acc);
            }
            sum = Kernels.sum(acc);
        }
        for (; i < cols; i++) {
            sum += toFloat(data.get(LittleEndian.I16, base + 2L * i)) * x[xOff + i];
        }
        return sum;
    }
}
