package dev.kvslim.train.dms;

import dev.kvslim.train.random.Rng;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The logistic noise of DMS training (spec 3.2, T8): {@code g = log(u / (1 - u))} for {@code u} uniform in (0, 1),
 * which is distributed as the difference of two independent Gumbel(0, 1) samples, Logistic(0, 1).
 * <p>Seeding: the noise of micro-batch {@code micro} of optimiser step {@code step} (0-based) comes from a
 * {@link Rng} seeded with the first 8 bytes (big-endian) of {@code SHA-256("{seed}_{micro}_{step}")}, the
 * spec's recipe with the run seed in place of the process index. It depends on nothing else (not on what ran
 * before), so a run resumed from a checkpoint draws exactly the noise an uninterrupted run would have.
 * Within one micro-batch the values are drawn in {@code [layer, batch row, KV head, position]} order.
 */
public final class DmsNoise {

    private DmsNoise() {}

    /** The generator seed of (run seed, step, micro-step). */
    public static long seed(long runSeed, int step, int micro) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256")
                    .digest((runSeed + "_" + micro + "_" + step).getBytes(StandardCharsets.UTF_8));
            long s = 0;
            for (int i = 0; i < 8; i++) {
                s = s << 8 | (h[i] & 0xFF);
            }
            return s;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** One Logistic(0, 1) sample. */
    public static float logistic(Rng rng) {
        double u = ((rng.nextLong() >>> 11) + 0.5) * 0x1.0p-53; // strictly inside (0, 1)
        return (float) (StrictMath.log(u) - StrictMath.log1p(-u));
    }

    /**
     * Fills {@code noise[layer]} ({@code [B*T, KVH]} each, row {@code b*T + t}) from {@code seed}, in
     * {@code [layer, b, head, t]} order.
     */
    public static void fill(float[][] noise, int b, int t, int kvHeads, long seed) {
        Rng rng = new Rng(seed);
        for (float[] layer : noise) {
            for (int bi = 0; bi < b; bi++) {
                for (int h = 0; h < kvHeads; h++) {
                    for (int i = 0; i < t; i++) {
                        layer[(bi * t + i) * kvHeads + h] = logistic(rng);
                    }
                }
            }
        }
    }
}
