package dev.kvslim.core.kv;

import java.util.Arrays;

/**
 * The rotary position embedding (RoPE) a model applied to the keys and queries it hands a cache: channel pair i of a
 * head at position p is turned by the angle {@code p * frequencies[i]}. Policies that reason about queries yet to
 * come (Expected Attention, DuoAttention's head scores) use it to undo and redo the rotation.
 *
 * @param frequencies angle per position of each channel pair (head size / 2 of them); all 0 for a model without RoPE
 * @param interleaved pairs are channels (2i, 2i+1); otherwise (i, i + headSize/2), "rotate half"
 */
public record Rotary(float[] frequencies, boolean interleaved) {

    public Rotary {
        frequencies = frequencies.clone();
    }

    /** No rotation: every angle 0. */
    public static Rotary none(int headSize) {
        return new Rotary(new float[headSize / 2], true);
    }

    @Override
    public float[] frequencies() {
        return frequencies.clone();
    }

    /** Angle per position of pair {@code i}. */
    public float frequency(int i) {
        return frequencies[i];
    }

    /** Pairs per head. */
    public int pairs() {
        return frequencies.length;
    }

    /** The first channel of pair {@code i} in a head of {@code headSize} channels. */
    public int first(int i, int headSize) {
        return interleaved ? 2 * i : i;
    }

    /** The second channel of pair {@code i}. */
    public int second(int i, int headSize) {
        return interleaved ? 2 * i + 1 : i + headSize / 2;
    }

    /**
     * Turns pair i of the head at {@code x[off..]} by the angle whose cosine and sine are {@code cos[i]} and
     * {@code sin[i]}, in place, as the model's RoPE does.
     */
    public void turn(double[] x, int off, int headSize, double[] cos, double[] sin) {
        for (int i = 0; i < frequencies.length; i++) {
            int a = off + first(i, headSize), b = off + second(i, headSize);
            double x0 = x[a], x1 = x[b];
            x[a] = x0 * cos[i] - x1 * sin[i];
            x[b] = x0 * sin[i] + x1 * cos[i];
        }
    }

    /** Cosines and sines of the angles at {@code position} (negative turns back), into {@code cos} and {@code sin}. */
    public void angles(double position, double[] cos, double[] sin) {
        for (int i = 0; i < frequencies.length; i++) {
            double angle = position * frequencies[i];
            cos[i] = Math.cos(angle);
            sin[i] = Math.sin(angle);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Rotary r && r.interleaved == interleaved && Arrays.equals(r.frequencies, frequencies);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(frequencies) * 31 + Boolean.hashCode(interleaved);
    }

    @Override
    public String toString() {
        return "Rotary[" + frequencies.length + " pairs, " + (interleaved ? "interleaved" : "half") + "]";
    }
}
