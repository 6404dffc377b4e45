package dev.kvslim.eval.result;

import java.util.Arrays;

/**
 * Live KV bytes of one sequence against the tokens it had generated: point 0 is right after the prompt's prefill,
 * then one point per decode step, thinned to at most {@link #MAX_POINTS} so a result line stays short.
 *
 * @param generated tokens generated at each point, ascending
 * @param bytes     live KV bytes of the cache at that point (after the step's eviction)
 */
public record KvTrace(int[] generated, long[] bytes) {

    /** Points kept at most. */
    public static final int MAX_POINTS = 128;

    public KvTrace {
        if (generated.length != bytes.length) {
            throw new IllegalArgumentException(
                    "a KV trace needs as many byte counts as lengths: " + generated.length + " != " + bytes.length);
        }
    }

    /** The first {@code n} points of {@code generated}/{@code bytes}, thinned evenly to at most {@link #MAX_POINTS}. */
    public static KvTrace of(int[] generated, long[] bytes, int n) {
        if (n <= MAX_POINTS) {
            return new KvTrace(Arrays.copyOf(generated, n), Arrays.copyOf(bytes, n));
        }
        int[] g = new int[MAX_POINTS];
        long[] b = new long[MAX_POINTS];
        for (int i = 0; i < MAX_POINTS; i++) {
            int at = (int) Math.round((double) i * (n - 1) / (MAX_POINTS - 1));
            g[i] = generated[at];
            b[i] = bytes[at];
        }
        return new KvTrace(g, b);
    }

    public int size() {
        return generated.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KvTrace t && Arrays.equals(generated, t.generated) && Arrays.equals(bytes, t.bytes);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(generated) + Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "KvTrace(" + size() + " points)";
    }
}
