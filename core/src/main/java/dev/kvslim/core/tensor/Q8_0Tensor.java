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

    private final MemorySegment data;

    public Q8_0Tensor(MemorySegment data, long rows, int cols) {
        super(rows, cols);
        Tensors.requireBlockRows(cols, BLOCK, "Q8_0");
        this.data = Tensors.requireBytes(data, GgmlType.Q8_0.bytesFor(rows * cols), "Q8_0");
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public MemorySegment segment() {
        return data;
    }

    @Override
    public float get(long index) {
        long block = (index / BLOCK) * BLOCK_BYTES;
        float d = Float.float16ToFloat(data.get(LittleEndian.I16, block));
        return d * data.get(ValueLayout.JAVA_BYTE, block + 2 + index % BLOCK);
    }

    @Override
    public float dot(long row, float[] x, int xOff) {
        if (B == null) {
            return dotByElement(row, x, xOff);
        }
        int blocks = cols / BLOCK;
        long base = row * blocks * BLOCK_BYTES;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        for (int b = 0; b < blocks; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            int xi = xOff + b * BLOCK;
            FloatVector sum = FloatVector.zero(F);
            for (int j = 0; j < BLOCK; j += F.length()) {
                FloatVector q = (FloatVector) ByteVector.fromMemorySegment(B, data, at + 2 + j, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2F, F, 0);
                sum = q.fma(FloatVector.fromArray(F, x, xi + j), sum);
            }
            // even blocks into one accumulator, odd into the other
            if ((b & 1) == 0) {
                acc0 = sum.fma(FloatVector.broadcast(F, scale(at)), acc0);
            } else {
                acc1 = sum.fma(FloatVector.broadcast(F, scale(at)), acc1);
            }
        }
        return Kernels.sum(acc0.add(acc1));
    }

    private float scale(long at) {
        return Float.float16ToFloat(data.get(LittleEndian.I16, at));
    }

    @Override
    public void dequantizeRow(long row, float[] out, int off) {
        if (B == null) {
            super.dequantizeRow(row, out, off);
            return;
        }
        int blocks = cols / BLOCK;
        long base = row * blocks * BLOCK_BYTES;
        for (int b = 0; b < blocks; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(LittleEndian.I16, at));
            for (int j = 0; j < BLOCK; j += F.length()) {
                ((FloatVector) ByteVector.fromMemorySegment(B, data, at + 2 + j, ByteOrder.LITTLE_ENDIAN)
                                .convertShape(VectorOperators.B2F, F, 0))
                        .mul(d)
                        .intoArray(out, off + b * BLOCK + j);
            }
        }
    }
}
