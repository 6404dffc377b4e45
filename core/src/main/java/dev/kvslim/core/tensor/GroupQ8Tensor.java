package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * llama2.c version-2 ("runq.c") int8 weights: all signed bytes of the tensor first, then one float32 scale per
 * group of {@code groupSize} consecutive values; value = q * scale. Groups never cross a row here.
 */
public final class GroupQ8Tensor extends FloatTensor {

    private static final VectorSpecies<Float> F = Kernels.F;
    /** Bytes widened to one float vector; none when float vectors are narrower than 64 bits of bytes. */
    private static final VectorSpecies<Byte> B =
            F.length() >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8)) : null;

    private final MemorySegment q;
    private final MemorySegment scales;
    private final int groupSize;

    public GroupQ8Tensor(MemorySegment q, MemorySegment scales, long rows, int cols, int groupSize) {
        super(rows, cols);
        if (groupSize <= 0 || cols % groupSize != 0) {
            throw new IllegalArgumentException(
                    "int8 group size " + groupSize + " does not divide the row length " + cols);
        }
        this.groupSize = groupSize;
        this.q = Tensors.requireBytes(q, rows * cols, "int8");
        this.scales = Tensors.requireBytes(scales, rows * cols / groupSize * Float.BYTES, "int8 scales");
    }

    /** Bytes a tensor of {@code elements} values takes in the file: the int8 values, then the scales. */
    public static long fileBytes(long elements, int groupSize) {
        return elements + elements / groupSize * Float.BYTES;
    }

    /** The closest GGML type; {@link #format()} names the real one. */
    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    /** The int8 values; the scales lie in a second segment. */
    @Override
    public MemorySegment segment() {
        return q;
    }

    @Override
    public long byteSize() {
        return q.byteSize() + scales.byteSize();
    }

    @Override
    public String format() {
        return "int8 (llama2.c, groups of " + groupSize + ")";
    }

    public int groupSize() {
        return groupSize;
    }

    @Override
    public float get(long index) {
        return q.get(ValueLayout.JAVA_BYTE, index) * scales.getAtIndex(LittleEndian.F32, index / groupSize);
    }

    @Override
    public float dot(long row, float[] x, int xOff) {
        if (B == null) {
            return dotByElement(row, x, xOff);
        }
        long base = row * cols;
        float total = 0f;
        boolean vectorGroups = groupSize % F.length() == 0;
        for (int g = 0; g < cols; g += groupSize) {
            float s = scales.getAtIndex(LittleEndian.F32, (base + g) / groupSize);
            float sum;
            if (vectorGroups) {
                FloatVector acc = FloatVector.zero(F);
                for (int j = 0; j < groupSize; j += F.length()) {
                    FloatVector w =
                            (FloatVector) ByteVector.fromMemorySegment(B, q, base + g + j, ByteOrder.LITTLE_ENDIAN)
                                    .convertShape(VectorOperators.B2F, F, 0);
                    acc = w.fma(FloatVector.fromArray(F, x, xOff + g + j), acc);
                }
                sum = Kernels.sum(acc);
            } else {
                sum = 0f;
                for (int j = 0; j < groupSize; j++) {
                    sum += q.get(ValueLayout.JAVA_BYTE, base + g + j) * x[xOff + g + j];
                }
            }
            total += sum * s;
        }
        return total;
    }
}
