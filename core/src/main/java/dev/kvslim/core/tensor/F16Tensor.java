package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** Little-endian IEEE half-precision values. */
public final class F16Tensor extends FloatTensor {

    private static final VectorSpecies<Float> F = Kernels.F;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

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

    /**
     * Widens half floats to floats in vector registers: moving the exponent and mantissa up by 13 bits and
     * scaling by 2^112 rebias the exponent, exact for normal and subnormal values (inf and NaN, which no
     * usable weight holds, become large finite numbers).
     */
    static FloatVector widen(ShortVector h) {
        IntVector bits = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        IntVector sign = bits.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector magnitude = bits.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
        FloatVector abs = magnitude.reinterpretAsFloats().mul(0x1p112f);
        return abs.reinterpretAsInts().or(sign).reinterpretAsFloats();
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
                acc = widen(h).fma(FloatVector.fromArray(F, x, xOff + i), acc);
            }
            sum = Kernels.sum(acc);
        }
        for (; i < cols; i++) {
            sum += Float.float16ToFloat(data.get(LittleEndian.I16, base + 2L * i)) * x[xOff + i];
        }
        return sum;
    }
}
