package dev.kvslim.bench;

import dev.kvslim.core.tensor.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures how fast all threads together can stream-read memory far larger than the caches: each thread reads four
 * far-apart parts of its share at once (one stream per thread leaves bandwidth unused: 8.4 against 11 GB/s per core
 * on the Xeon these machines run on), over a buffer of 1 GiB (their L3 holds 300 MiB; the 256 MiB this read before
 * partly came from it). A floor for the roofline figures, which are no speed claim: see docs/performance.md.
 */
final class Bandwidth {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final long BYTES = 1L << 30;
    private static final int STREAMS = 4;

    private static final MemorySegment BUFFER =
            Arena.ofAuto().allocate(BYTES, 64).fill((byte) 1);

    private Bandwidth() {}

    /** Read bandwidth now: the best of three passes over a buffer far larger than the caches. */
    static double measureGBs() {
        MemorySegment seg = BUFFER;
        double[] gbs = new double[3];
        float[] sink = new float[Parallel.threads()];
        for (int r = -1; r < gbs.length; r++) {
            long t0 = System.nanoTime();
            int chunks = Parallel.threads() * 8;
            long per = BYTES / chunks / STREAMS;
            Parallel.forRange(chunks, 1, (w, start, end) -> {
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                int step = F.vectorByteSize();
                for (int c = start; c < end; c++) {
                    long base = c * per * STREAMS;
                    for (long at = 0; at < per; at += step) {
                        a0 = a0.add(FloatVector.fromMemorySegment(F, seg, base + at, ByteOrder.LITTLE_ENDIAN));
                        a1 = a1.add(FloatVector.fromMemorySegment(F, seg, base + per + at, ByteOrder.LITTLE_ENDIAN));
                        a2 = a2.add(
                                FloatVector.fromMemorySegment(F, seg, base + 2 * per + at, ByteOrder.LITTLE_ENDIAN));
                        a3 = a3.add(
                                FloatVector.fromMemorySegment(F, seg, base + 3 * per + at, ByteOrder.LITTLE_ENDIAN));
                    }
                }
                sink[w] += a0.add(a1).add(a2.add(a3)).lane(0);
            });
            long t1 = System.nanoTime();
            if (r >= 0) {
                gbs[r] = BYTES / (double) (t1 - t0);
            }
        }
        return Arrays.stream(gbs).max().orElseThrow();
    }
}
