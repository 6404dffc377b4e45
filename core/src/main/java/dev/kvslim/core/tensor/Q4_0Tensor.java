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
 * GGML Q4_0: blocks of 32 values, each a half-float scale {@code d} followed by 16 bytes; byte j holds value j
 * in its low nibble and value j+16 in its high nibble, both offset by 8: value = d * (nibble - 8).
 * 18 bytes per block.
 */
public final class Q4_0Tensor extends FloatTensor {

    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 18;
    private static final VectorSpecies<Float> F = Kernels.F;
    /** Bytes widened to one float vector; none when float vectors are narrower than 64 bits of bytes. */
    private static final VectorSpecies<Byte> B =
            F.length() >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8)) : null;

    private final MemorySegment data;

    public Q4_0Tensor(MemorySegment data, long rows, int cols) {
        super(rows, cols);
        Tensors.requireBlockRows(cols, BLOCK, "Q4_0");
        this.data = Tensors.requireBytes(data, GgmlType.Q4_0.bytesFor(rows * cols), "Q4_0");
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public MemorySegment segment() {
        return data;
    }

    @Override
    public float get(long index) {
        long block = (index / BLOCK) * BLOCK_BYTES;
        float d = Float.float16ToFloat(data.get(LittleEndian.I16, block));
        int j = (int) (index % BLOCK);
        int packed = data.get(ValueLayout.JAVA_BYTE, block + 2 + (j & 15)) & 0xFF;
        int nibble = j < 16 ? packed & 0xF : packed >>> 4;
        return d * (nibble - 8);
    }

    @Override
    public float dot(long row, float[] x, int xOff) {
        if (B == null) {
            return dotByElement(row, x, xOff);
        }
        int blocks = cols / BLOCK;
        long base = row * blocks * BLOCK_BYTES;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(LittleEndian.I16, at));
            int xi = xOff + b * BLOCK;
            FloatVector sum = FloatVector.zero(F);
            for (int j = 0; j < 16; j += F.length()) {
                ByteVector packed = ByteVector.fromMemorySegment(B, data, at + 2 + j, ByteOrder.LITTLE_ENDIAN);
                FloatVector lo =
                        (FloatVector) packed.and((byte) 0xF).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0);
                // x86 has no byte shift: shift 32-bit lanes and mask the nibbles that crossed a byte
                FloatVector hi = (FloatVector) packed.reinterpretAsInts()
                        .lanewise(VectorOperators.LSHR, 4)
                        .and(0x0F0F0F0F)
                        .reinterpretAsBytes()
                        .sub((byte) 8)
                        .convertShape(VectorOperators.B2F, F, 0);
                sum = lo.fma(FloatVector.fromArray(F, x, xi + j), sum);
                sum = hi.fma(FloatVector.fromArray(F, x, xi + 16 + j), sum);
            }
            acc = sum.fma(FloatVector.broadcast(F, d), acc);
        }
        return Kernels.sum(acc);
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
            int o = off + b * BLOCK;
            for (int j = 0; j < 16; j += F.length()) {
                ByteVector packed = ByteVector.fromMemorySegment(B, data, at + 2 + j, ByteOrder.LITTLE_ENDIAN);
                ((FloatVector) packed.and((byte) 0xF).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0))
                        .mul(d)
                        .intoArray(out, o + j);
                ((FloatVector) packed.reinterpretAsInts()
                                .lanewise(VectorOperators.LSHR, 4)
                                .and(0x0F0F0F0F)
                                .reinterpretAsBytes()
                                .sub((byte) 8)
                                .convertShape(VectorOperators.B2F, F, 0))
                        .mul(d)
                        .intoArray(out, o + 16 + j);
            }
        }
    }
}
