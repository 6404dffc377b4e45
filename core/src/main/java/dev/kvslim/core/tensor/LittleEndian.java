package dev.kvslim.core.tensor;

import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Unaligned little-endian value layouts: how every model format KVSlim reads stores its numbers. */
public final class LittleEndian {

    public static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final VarHandle SHORTS =
            MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INTS = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private LittleEndian() {}

    /** The little-endian short at byte {@code at} of {@code a}. */
    public static short i16(byte[] a, int at) {
        return (short) SHORTS.get(a, at);
    }

    /** Writes {@code v} little-endian at byte {@code at} of {@code a}. */
    public static void putI16(byte[] a, int at, short v) {
        SHORTS.set(a, at, v);
    }

    /** Writes {@code v} little-endian at byte {@code at} of {@code a}. */
    public static void putI32(byte[] a, int at, int v) {
        INTS.set(a, at, v);
    }

    /** The little-endian int at byte {@code at} of {@code a}. */
    public static int i32(byte[] a, int at) {
        return (int) INTS.get(a, at);
    }
}
