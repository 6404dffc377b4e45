package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/** Little-endian IEEE half-precision values. */
public final class F16Tensor extends FloatTensor {

    private static final VectorSpecies<Float> F = Kernels.F;
    private static final VectorSpecies<Short> S = HalfFloats.SHORTS;

    /** The values as stored, copied onto the heap ({@link Tensors#halvesOnHeap}). */
    private final short[] halves;

    public F16Tensor(MemorySegment data, long rows, int cols) {
        super(rows, cols);
        this.halves = Tensors.halvesOnHeap(data, rows * cols, "F16");
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public MemorySegment segment() {
        return MemorySegment.ofArray(halves);
    }

    @Override
    protected boolean nativeInBf16() {
        return false;
    }

    @Override
    public float get(long index) {
        return Float.float16ToFloat(halves[(int) index]);
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
                acc = HalfFloats.widenF16(h).fma(FloatVector.fromArray(F, x, xOff + i), acc);
            }
            sum = Kernels.sum(acc);
        }
        for (; i < cols; i++) {
            sum += Float.float16ToFloat(halves[base + i]) * x[xOff + i];
        }
        return sum;
    }

    /** Two rows at a time ({@link #dot2}), which keeps two streams of reads from memory in flight. */
    @Override
    protected void dotRows(int from, int to, float[] x, float[] out) {
        int r = from;
        for (; r + 2 <= to; r += 2) {
            dot2(r, x, out);
        }
        for (; r < to; r++) {
            out[r] = dot(r, x, 0);
        }
    }

    /** {@link #dot} of rows {@code row} and {@code row+1}: the same operations in the same order, x loaded once. */
    private void dot2(int row, float[] x, float[] out) {
        int b0 = row * cols, b1 = b0 + cols;
        int i = 0;
        float s0 = 0f, s1 = 0f;
        int bound = F.loopBound(cols);
        if (bound > 0) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            for (; i < bound; i += F.length()) {
                FloatVector xv = FloatVector.fromArray(F, x, i);
                a0 = HalfFloats.widenF16(ShortVector.fromArray(S, halves, b0 + i))
                        .fma(xv, a0);
                a1 = HalfFloats.widenF16(ShortVector.fromArray(S, halves, b1 + i))
                        .fma(xv, a1);
            }
            s0 = Kernels.sum(a0);
            s1 = Kernels.sum(a1);
        }
        for (; i < cols; i++) {
            s0 += Float.float16ToFloat(halves[b0 + i]) * x[i];
            s1 += Float.float16ToFloat(halves[b1 + i]) * x[i];
        }
        out[row] = s0;
        out[row + 1] = s1;
    }
}
