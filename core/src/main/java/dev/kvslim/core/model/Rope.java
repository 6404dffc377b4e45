package dev.kvslim.core.model;

/** Rotary position embedding: rotates channel pairs of each head by position-dependent angles. */
public final class Rope {

    private Rope() {}

    /**
     * Rotates {@code heads} heads of {@code headSize} channels in {@code vec} from {@code off}: pair i (channels
     * 2i and 2i+1 when interleaved, i and i + headSize/2 for rotate-half) turns by the angle whose cosine and
     * sine are {@code cos[angleOff + i]} and {@code sin[angleOff + i]}.
     */
    public static void rotate(
            float[] vec, int off, int heads, int headSize, RopeStyle style, float[] cos, float[] sin, int angleOff) {
        int half = headSize / 2;
        boolean interleaved = style == RopeStyle.INTERLEAVED;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headSize;
            for (int i = 0; i < half; i++) {
                int a = interleaved ? base + 2 * i : base + i;
                int b = interleaved ? a + 1 : a + half;
                float c = cos[angleOff + i], s = sin[angleOff + i];
                float v0 = vec[a], v1 = vec[b];
                vec[a] = v0 * c - v1 * s;
                vec[b] = v0 * s + v1 * c;
            }
        }
    }
}
