package dev.kvslim.train.ops;

import dev.kvslim.core.model.RopeStyle;

/**
 * Rotary position embedding on rows of {@code heads x headSize} channels, both channel pairings the engine
 * supports ({@link RopeStyle}), and its backward (the rotation transposed: the same pairs turned back).
 * Row {@code r} is at position {@code r % T}; {@code cos} and {@code sin} hold {@code T x headSize/2} angles.
 */
public final class Rope {

    private Rope() {}

    /** Angle tables for positions {@code 0..T-1}, computed as the engine's {@code Model} does. */
    public static void angles(float[] freq, int t, float[] cos, float[] sin) {
        int half = freq.length;
        for (int p = 0; p < t; p++) {
            for (int i = 0; i < half; i++) {
                double angle = (double) p * freq[i];
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
    }

    /** Rotates {@code x} in place. */
    public static void forward(
            float[] x, int n, int t, int heads, int headSize, RopeStyle style, float[] cos, float[] sin) {
        rotate(x, n, t, heads, headSize, style, cos, sin, 1f);
    }

    /** Turns the gradient back in place: {@code dx = R^T dy}. */
    public static void backward(
            float[] dx, int n, int t, int heads, int headSize, RopeStyle style, float[] cos, float[] sin) {
        rotate(dx, n, t, heads, headSize, style, cos, sin, -1f);
    }

    private static void rotate(
            float[] x, int n, int t, int heads, int headSize, RopeStyle style, float[] cos, float[] sin, float sign) {
        int half = headSize / 2;
        boolean interleaved = style == RopeStyle.INTERLEAVED;
        for (int r = 0; r < n; r++) {
            int angles = (r % t) * half;
            for (int h = 0; h < heads; h++) {
                int base = (r * heads + h) * headSize;
                for (int i = 0; i < half; i++) {
                    int a = interleaved ? base + 2 * i : base + i;
                    int b = interleaved ? a + 1 : a + half;
                    float c = cos[angles + i], s = sign * sin[angles + i];
                    float v0 = x[a], v1 = x[b];
                    x[a] = v0 * c - v1 * s;
                    x[b] = v0 * s + v1 * c;
                }
            }
        }
    }
}
