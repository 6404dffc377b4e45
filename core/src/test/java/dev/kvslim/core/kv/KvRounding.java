package dev.kvslim.core.kv;

/**
 * What a float reads back as from a cache of each {@link KvType}, computed independently of the cache's own
 * rounding: F16 by the JDK's {@link Float#floatToFloat16}, BF16 by picking the nearer of the two neighbouring
 * bfloat16 values in double arithmetic (ties to the even one); Q8_0 and Q4_0 by ggml's reference quantizers
 * ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref} in ggml-quants.c) written out again here, per group
 * of 32 channels of each head (the whole head when 32 does not divide it). Tests build their references from these.
 */
final class KvRounding {

    private KvRounding() {}

    static float round(KvType type, float x) {
        return switch (type) {
            case F32 -> x;
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(x));
            case BF16 -> bf16(x);
            case Q8_0, Q4_0 -> throw new IllegalArgumentException(type + " rounds groups, not single values");
        };
    }

    /** {@code x}, a run of vectors of {@code headSize}, as it reads back from a cache of {@code type}. */
    static float[] round(KvType type, float[] x, int headSize) {
        if (!type.quantised()) {
            return round(type, x);
        }
        int group = headSize % 32 == 0 ? 32 : headSize;
        float[] r = new float[x.length];
        for (int off = 0; off < x.length; off += group) {
            if (type == KvType.Q8_0) {
                q8(x, off, group, r);
            } else {
                q4(x, off, group, r);
            }
        }
        return r;
    }

    private static void q8(float[] x, int off, int n, float[] r) {
        float amax = 0;
        for (int j = 0; j < n; j++) {
            amax = Math.max(amax, Math.abs(x[off + j]));
        }
        float d = amax / 127;
        float id = d == 0 ? 0 : 1 / d;
        float stored = Float.float16ToFloat(Float.floatToFloat16(d));
        for (int j = 0; j < n; j++) {
            float v = x[off + j] * id;
            r[off + j] = stored * (float) (v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5)); // C's roundf
        }
    }

    private static void q4(float[] x, int off, int n, float[] r) {
        float max = 0;
        for (int j = 0; j < n; j++) {
            if (Math.abs(x[off + j]) > Math.abs(max)) {
                max = x[off + j];
            }
        }
        float d = max / -8;
        float id = d == 0 ? 0 : 1 / d;
        float stored = Float.float16ToFloat(Float.floatToFloat16(d));
        for (int j = 0; j < n; j++) {
            int q = Math.min(15, (int) (x[off + j] * id + 8.5f)); // a C cast to int8 truncates toward zero
            r[off + j] = stored * (q - 8);
        }
    }

    /** {@code x} with every element rounded to {@code type}. */
    static float[] round(KvType type, float[] x) {
        float[] r = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            r[i] = round(type, x[i]);
        }
        return r;
    }

    private static float bf16(float x) {
        if (Float.isNaN(x) || Float.isInfinite(x)) {
            return x;
        }
        int bits = Float.floatToRawIntBits(x);
        int down = bits & 0xffff0000; // toward zero
        int up = down + 0x10000; // away from zero (past the largest finite: infinity)
        double below = Math.abs((double) x - Float.intBitsToFloat(down));
        double above = Math.abs((double) Float.intBitsToFloat(up) - x);
        if (Float.isInfinite(Float.intBitsToFloat(up))) {
            // the largest bfloat16 is 2^128 * (1 - 2^-8) away from infinity: beyond it plus half an ulp rounds up
            above = Math.abs(Math.scalb(1.0, 128) - Math.abs((double) x));
        }
        if (below < above || below == above && (down & 0x10000) == 0) {
            return Float.intBitsToFloat(down);
        }
        return Float.intBitsToFloat(up);
    }
}
