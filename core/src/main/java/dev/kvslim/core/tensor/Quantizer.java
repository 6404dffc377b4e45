package dev.kvslim.core.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Encodes float rows into the storage formats, with the rounding of ggml's reference quantizers
 * ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref}).
 */
public final class Quantizer {


    private Quantizer() {
    }

    /** Encodes all of {@code source} as {@code type} into new memory of {@code arena}. */
    public static MemorySegment encode(FloatTensor source, GgmlType type, Arena arena) {
        int cols = source.cols();
        if (cols % type.blockSize != 0) {
            throw new IllegalArgumentException(type + " needs rows of a multiple of " + type.blockSize
                    + " values; " + source + " has " + cols);
        }
        long rowBytes = type.bytesFor(cols);
        MemorySegment out = arena.allocate(rowBytes * source.rows(), 64);
        float[] row = new float[cols];
        for (long r = 0; r < source.rows(); r++) {
            source.dequantizeRow(r, row, 0);
            encodeRow(row, type, out, r * rowBytes);
        }
        return out;
    }

    /** Encodes {@code row} as {@code type} at byte {@code at} of {@code out}. */
    public static void encodeRow(float[] row, GgmlType type, MemorySegment out, long at) {
        switch (type) {
            case F32 -> MemorySegment.copy(row, 0, out, LittleEndian.F32, at, row.length);
            case F16 -> {
                for (int i = 0; i < row.length; i++) {
                    out.set(LittleEndian.I16, at + 2L * i, Float.floatToFloat16(row[i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < row.length; i++) {
                    out.set(LittleEndian.I16, at + 2L * i, HalfFloats.toBf16(row[i]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < row.length / type.blockSize; b++) {
                    q8Block(row, b * type.blockSize, out, at + (long) type.blockBytes * b);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < row.length / type.blockSize; b++) {
                    q4Block(row, b * type.blockSize, out, at + (long) type.blockBytes * b);
                }
            }
        }
    }

    private static void q8Block(float[] x, int off, MemorySegment out, long at) {
        float amax = 0f;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[off + j]));
        }
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        out.set(LittleEndian.I16, at, Float.floatToFloat16(d));
        for (int j = 0; j < 32; j++) {
            out.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) roundHalfAway(x[off + j] * id));
        }
    }

    /** C's {@code roundf}: halves go away from zero (Java's {@link Math#round} sends them up). */
    static int roundHalfAway(float v) {
        return v < 0 ? -Math.round(-v) : Math.round(v);
    }

    private static void q4Block(float[] x, int off, MemorySegment out, long at) {
        float amax = 0f, max = 0f;
        for (int j = 0; j < 32; j++) {
            float v = x[off + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8f;
        float id = d != 0f ? 1f / d : 0f;
        out.set(LittleEndian.I16, at, Float.floatToFloat16(d));
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) (x[off + j] * id + 8.5f));
            int hi = Math.min(15, (int) (x[off + 16 + j] * id + 8.5f));
            out.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (lo | (hi << 4)));
        }
    }
}
