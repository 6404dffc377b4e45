package dev.kvslim.core.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Encodes float rows into the storage formats, with the rounding of ggml's reference quantizers
 * ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref}, {@code _q4_1_ref}, {@code _q5_0_ref},
 * {@code _q5_1_ref}; for the K-quants Q4_K, Q5_K and Q6_K, {@link KQuants}). Q2_K, Q3_K and IQ4_NL are read but not
 * yet written ({@link #canEncode}).
 */
public final class Quantizer {

    private Quantizer() {}

    /** Whether {@link #encode} can write {@code type}. */
    public static boolean canEncode(GgmlType type) {
        return switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K -> true;
            case Q2_K, Q3_K, IQ4_NL -> false;
        };
    }

    /** Encodes all of {@code source} as {@code type} into new memory of {@code arena}. */
    public static MemorySegment encode(FloatTensor source, GgmlType type, Arena arena) {
        return encode(source, type, arena, false);
    }

    /**
     * {@link #encode} with the rows shared out among {@link Parallel}'s workers (an 8B model's K-quants take minutes
     * per core): {@code source} and {@code arena} must be reachable from other threads (weights as models load
     * them; a shared or global arena, not a confined one).
     */
    public static MemorySegment encodeInParallel(FloatTensor source, GgmlType type, Arena sharedArena) {
        return encode(source, type, sharedArena, true);
    }

    private static MemorySegment encode(FloatTensor source, GgmlType type, Arena arena, boolean parallel) {
        int cols = source.cols();
        if (!canEncode(type)) {
            throw new IllegalArgumentException("writing " + type + " is not supported yet (it can be read)");
        }
        if (cols % type.blockSize != 0) {
            throw new IllegalArgumentException(
                    type + " needs rows of a multiple of " + type.blockSize + " values; " + source + " has " + cols);
        }
        long rowBytes = type.bytesFor(cols);
        MemorySegment out = arena.allocate(rowBytes * source.rows(), 64);
        int rows = Math.toIntExact(source.rows());
        Parallel.forRange(rows, parallel ? Parallel.grain(64L * cols) : rows + 1, (worker, from, to) -> {
            float[] row = new float[cols];
            for (long r = from; r < to; r++) {
                source.dequantizeRow(r, row, 0);
                encodeRow(row, type, out, r * rowBytes);
            }
        });
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
            case Q4_0, Q4_1, Q5_0, Q5_1 -> {
                for (int b = 0; b < row.length / type.blockSize; b++) {
                    long to = at + (long) type.blockBytes * b;
                    int from = b * type.blockSize;
                    switch (type) {
                        case Q4_0 -> q4Block(row, from, out, to);
                        case Q4_1 -> q4_1Block(row, from, out, to);
                        case Q5_0 -> q5_0Block(row, from, out, to);
                        default -> q5_1Block(row, from, out, to);
                    }
                }
            }
            case Q4_K, Q5_K, Q6_K -> {
                byte[] block = new byte[type.blockBytes];
                for (int b = 0; b < row.length / type.blockSize; b++) {
                    switch (type) {
                        case Q4_K -> KQuants.q4K(row, b * type.blockSize, block, 0);
                        case Q5_K -> KQuants.q5K(row, b * type.blockSize, block, 0);
                        default -> KQuants.q6K(row, b * type.blockSize, block, 0);
                    }
                    MemorySegment.copy(
                            block, 0, out, ValueLayout.JAVA_BYTE, at + (long) type.blockBytes * b, block.length);
                }
            }
            case Q2_K, Q3_K, IQ4_NL ->
                throw new IllegalArgumentException("writing " + type + " is not supported yet (it can be read)");
        }
    }

    private static void q8Block(float[] x, int off, MemorySegment out, long at) {
        byte[] codes = new byte[32];
        out.set(LittleEndian.I16, at, Float.floatToFloat16(q8Codes(x, off, 32, codes, 0)));
        MemorySegment.copy(codes, 0, out, ValueLayout.JAVA_BYTE, at + 2, 32);
    }

    /**
     * ggml's Q8_0 rounding ({@code quantize_row_q8_0_ref}) of the {@code n} values at {@code x[off]}: the scale
     * {@code d = max|x| / 127} and codes {@code round(x / d)}, halves away from zero, into {@code codes[cOff..]}.
     * Returns {@code d} as a float; the formats store it as a half float.
     */
    public static float q8Codes(float[] x, int off, int n, byte[] codes, int cOff) {
        float amax = 0f;
        for (int j = 0; j < n; j++) {
            amax = Math.max(amax, Math.abs(x[off + j]));
        }
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        for (int j = 0; j < n; j++) {
            codes[cOff + j] = (byte) roundHalfAway(x[off + j] * id);
        }
        return d;
    }

    /** C's {@code roundf}: halves go away from zero (Java's {@link Math#round} sends them up). */
    static int roundHalfAway(float v) {
        return v < 0 ? -Math.round(-v) : Math.round(v);
    }

    /** The value of largest magnitude among the {@code n} at {@code off} (the first of equals), sign kept. */
    static float signedMax(float[] x, int off, int n) {
        float amax = 0f, max = 0f;
        for (int j = 0; j < n; j++) {
            float v = x[off + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        return max;
    }

    private static void q4Block(float[] x, int off, MemorySegment out, long at) {
        byte[] codes = new byte[32];
        out.set(LittleEndian.I16, at, Float.floatToFloat16(q4Codes(x, off, 32, codes, 0)));
        for (int j = 0; j < 16; j++) {
            out.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (codes[j] | (codes[16 + j] << 4)));
        }
    }

    /**
     * ggml's Q4_0 rounding ({@code quantize_row_q4_0_ref}) of the {@code n} values at {@code x[off]}: the scale
     * {@code d = max / -8}, where max is the value of largest magnitude with its sign, and codes
     * {@code min(15, trunc(x / d + 8.5))} (0..15, one a byte, unpacked) into {@code codes[cOff..]}; a value is
     * {@code d * (code - 8)}. Returns {@code d} as a float; the formats store it as a half float.
     */
    public static float q4Codes(float[] x, int off, int n, byte[] codes, int cOff) {
        float d = signedMax(x, off, n) / -8f;
        float id = d != 0f ? 1f / d : 0f;
        for (int j = 0; j < n; j++) {
            codes[cOff + j] = (byte) Math.min(15, (int) (x[off + j] * id + 8.5f));
        }
        return d;
    }

    /**
     * Writes the half-float scale {@code (max - min) / levels} and minimum of the block at {@code off} to
     * {@code at} and {@code at + 2}; returns {min, 1 / scale} (0 for a constant block) for the codes.
     */
    private static float[] affineScale(float[] x, int off, float levels, MemorySegment out, long at) {
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (int j = 0; j < 32; j++) {
            min = Math.min(min, x[off + j]);
            max = Math.max(max, x[off + j]);
        }
        float d = (max - min) / levels;
        out.set(LittleEndian.I16, at, Float.floatToFloat16(d));
        out.set(LittleEndian.I16, at + 2, Float.floatToFloat16(min));
        return new float[] {min, d != 0f ? 1f / d : 0f};
    }

    /** Q4_1: a scale and a minimum per block, codes 0..15 from the minimum up. */
    private static void q4_1Block(float[] x, int off, MemorySegment out, long at) {
        float[] mi = affineScale(x, off, 15f, out, at);
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) ((x[off + j] - mi[0]) * mi[1] + 0.5f));
            int hi = Math.min(15, (int) ((x[off + 16 + j] - mi[0]) * mi[1] + 0.5f));
            out.set(ValueLayout.JAVA_BYTE, at + 4 + j, (byte) (lo | (hi << 4)));
        }
    }

    /** Q5_0: as Q4_0 with 32 levels, the fifth bits gathered in one 32-bit word. */
    private static void q5_0Block(float[] x, int off, MemorySegment out, long at) {
        float max = signedMax(x, off, 32);
        float d = max / -16f;
        float id = d != 0f ? 1f / d : 0f;
        out.set(LittleEndian.I16, at, Float.floatToFloat16(d));
        int[] codes = new int[32];
        for (int j = 0; j < 32; j++) {
            codes[j] = Math.min(31, (int) (x[off + j] * id + 16.5f));
        }
        packFiveBits(codes, out, at + 2, at + 6);
    }

    /** Q5_1: as Q4_1 with 32 levels, the fifth bits gathered in one 32-bit word. */
    private static void q5_1Block(float[] x, int off, MemorySegment out, long at) {
        float[] mi = affineScale(x, off, 31f, out, at);
        int[] codes = new int[32];
        for (int j = 0; j < 32; j++) {
            codes[j] = (int) ((x[off + j] - mi[0]) * mi[1] + 0.5f) & 0xFF;
        }
        packFiveBits(codes, out, at + 4, at + 8);
    }

    /** Low nibbles of 32 five-bit codes at {@code nibbles} (j low, j+16 high), their fifth bits as a word at {@code high}. */
    private static void packFiveBits(int[] codes, MemorySegment out, long high, long nibbles) {
        int bits = 0;
        for (int j = 0; j < 16; j++) {
            int lo = codes[j], hi = codes[j + 16];
            out.set(ValueLayout.JAVA_BYTE, nibbles + j, (byte) ((lo & 0xF) | ((hi & 0xF) << 4)));
            bits |= ((lo >>> 4) & 1) << j;
            bits |= ((hi >>> 4) & 1) << (j + 16);
        }
        out.set(LittleEndian.I32, high, bits);
    }
}
