package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/** Little-endian bfloat16 values: the upper half of a float32. */
public final class BF16Tensor extends FloatTensor {

    private static final VectorSpecies<Float> F = Kernels.F;
    private static final VectorSpecies<Short> S = HalfFloats.SHORTS;

    /** The values as stored, copied onto the heap ({@link Tensors#halvesOnHeap}). */
    private final short[] halves;

    public BF16Tensor(MemorySegment data, long rows, int cols) {
        super(rows, cols);
        this.halves = Tensors.halvesOnHeap(data, rows * cols, "BF16");
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    @Override
    public MemorySegment segment() {
        return MemorySegment.ofArray(halves);
    }

    @Override
    protected MemorySegment nativeWeights(boolean bf16) {
        return bf16 ? segment() : null;
    }

    public static float toFloat(short bits) {
        return HalfFloats.bf16ToFloat(bits);
    }

    @Override
    public float get(long index) {
        return toFloat(halves[(int) index]);
    }

    @Override
    public float dot(long row, float[] x, int xOff) {
        int base = (int) row * cols;
        int i = 0;
        float sum = 0f;
        int bound = F.loopBound(cols);
        if (bound > 0) {
            FloatVector acc = FloatVector.zero(F);
            for (; i < bound; i += F.length()) {
                ShortVector h = ShortVector.fromArray(S, halves, base + i);
                acc = HalfFloats.widenBf16(h).fma(FloatVector.fromArray(F, x, xOff + i), acc);
            }
            sum = Kernels.sum(acc);
        }
        for (; i < cols; i++) {
            sum += toFloat(halves[base + i]) * x[xOff + i];
        }
        return sum;
    }
}
