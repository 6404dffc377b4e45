package dev.kvslim.core.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Factory and helpers shared by the storage formats. */
public final class Tensors {

    private Tensors() {}

    /** Wraps {@code data} as a {@code rows x cols} tensor of {@code type}. */
    public static FloatTensor of(GgmlType type, MemorySegment data, long rows, int cols) {
        return switch (type) {
            case F32 -> new F32Tensor(data, rows, cols);
            case F16 -> new F16Tensor(data, rows, cols);
            case BF16 -> new BF16Tensor(data, rows, cols);
            case Q8_0 -> new Q8_0Tensor(data, rows, cols);
            case Q4_0 -> new Q4_0Tensor(data, rows, cols);
            case Q4_1 -> new Q4_1Tensor(data, rows, cols);
            case Q5_0 -> new Q5_0Tensor(data, rows, cols);
            case Q5_1 -> new Q5_1Tensor(data, rows, cols);
            case Q2_K -> new Q2_KTensor(data, rows, cols);
            case Q3_K -> new Q3_KTensor(data, rows, cols);
            case Q4_K -> new Q4_KTensor(data, rows, cols);
            case Q5_K -> new Q5_KTensor(data, rows, cols);
            case Q6_K -> new Q6_KTensor(data, rows, cols);
            case IQ4_NL -> new IQ4_NLTensor(data, rows, cols);
        };
    }

    /** An off-heap F32 tensor holding a copy of {@code values}. */
    public static F32Tensor f32(Arena arena, float[] values, long rows, int cols) {
        MemorySegment seg = arena.allocate((long) values.length * Float.BYTES, 64);
        MemorySegment.copy(
                values, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, values.length);
        return new F32Tensor(seg, rows, cols);
    }

    /** Reads all of a (small) tensor into a float array, e.g. a norm weight. */
    public static float[] toArray(FloatTensor t) {
        long n = t.size();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor too large for an array: " + t);
        }
        float[] out = new float[(int) n];
        for (long r = 0; r < t.rows(); r++) {
            t.dequantizeRow(r, out, (int) (r * t.cols()));
        }
        return out;
    }

    static MemorySegment requireBytes(MemorySegment data, long bytes, String what) {
        if (data.byteSize() < bytes) {
            throw new IllegalArgumentException(
                    what + " tensor needs " + bytes + " bytes, segment has " + data.byteSize());
        }
        return data.asSlice(0, bytes);
    }

    /**
     * The first {@code bytes} of {@code data} copied into a Java array. The quantised kernels read their weights
     * from arrays: the JIT removes the bounds check of an array load at an int offset from a loop, while a load from
     * a {@link MemorySegment} at a long offset kept a dozen instructions of checks each, which halved their speed.
     * The copy takes the same memory as the file's bytes; pages of a mapped file are released from the process once
     * copied (they stay in the page cache), so resident memory counts the weights once.
     */
    static byte[] onHeap(MemorySegment data, long bytes, String what) {
        MemorySegment src = arraySource(data, bytes, bytes, "bytes", what);
        byte[] out = new byte[(int) bytes];
        MemorySegment.copy(src, ValueLayout.JAVA_BYTE, 0, out, 0, out.length);
        release(src);
        return out;
    }

    /** The first {@code count} little-endian 16-bit values of {@code data} in a Java array, as {@link #onHeap}. */
    static short[] halvesOnHeap(MemorySegment data, long count, String what) {
        MemorySegment src = arraySource(data, 2 * count, count, "values", what);
        short[] out = new short[(int) count];
        MemorySegment.copy(src, LittleEndian.I16, 0, out, 0, out.length);
        release(src);
        return out;
    }

    /** The first {@code bytes} of {@code data}, checked to fill an array of {@code length} {@code unit}. */
    private static MemorySegment arraySource(MemorySegment data, long bytes, long length, String unit, String what) {
        MemorySegment src = requireBytes(data, bytes, what);
        if (length > MAX_ARRAY_BYTES) {
            throw new IllegalArgumentException(what + " tensor of " + length + " " + unit
                    + " is larger than a Java array holds (" + MAX_ARRAY_BYTES + ")");
        }
        return src;
    }

    /** Drops the pages of a mapped file's copied bytes from the process (the page cache keeps them). */
    private static void release(MemorySegment src) {
        if (src.isMapped()) {
            src.unload();
        }
    }

    /** The largest Java array length every JVM allocates. */
    static final long MAX_ARRAY_BYTES = Integer.MAX_VALUE - 8;

    static void requireBlockRows(int cols, int blockSize, String what) {
        if (cols % blockSize != 0) {
            throw new IllegalArgumentException(
                    what + " rows must hold a multiple of " + blockSize + " values, got " + cols);
        }
    }
}
