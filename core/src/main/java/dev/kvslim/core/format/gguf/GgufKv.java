package dev.kvslim.core.format.gguf;

/**
 * One metadata entry. Scalars are boxed ({@code Integer} for 8-, 16- and 32-bit integers, {@code Long} for
 * unsigned 32-bit and 64-bit ones, {@code Float}, {@code Double}, {@code Boolean}, {@code String}); arrays are
 * {@code int[]}, {@code long[]}, {@code float[]}, {@code double[]}, {@code boolean[]}, {@code String[]} or
 * {@code GgufKv[]} (nested arrays, each with its own element type), with {@code elementType} saying what the file held.
 */
public record GgufKv(String key, GgufValueType type, GgufValueType elementType, Object value) {

    public static GgufKv of(String key, GgufValueType type, Object value) {
        return new GgufKv(key, type, null, value);
    }

    public static GgufKv array(String key, GgufValueType elementType, Object values) {
        return new GgufKv(key, GgufValueType.ARRAY, elementType, values);
    }
}
