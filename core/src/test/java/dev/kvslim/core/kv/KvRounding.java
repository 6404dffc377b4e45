package dev.kvslim.core.kv;

/**
 * What a float reads back as from a cache of each {@link KvType}, computed independently of the cache's own
 * rounding: F16 by the JDK's {@link Float#floatToFloat16}, BF16 by picking the nearer of the two neighbouring
 * bfloat16 values in double arithmetic (ties to the even one). Tests build their references from these.
 */
final class KvRounding {

    private KvRounding() {}

    static float round(KvType type, float x) {
        return switch (type) {
            case F32 -> x;
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(x));
            case BF16 -> bf16(x);
        };
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
