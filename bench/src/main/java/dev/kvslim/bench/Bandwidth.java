package dev.kvslim.bench;

import dev.kvslim.core.tensor.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Measures how fast all threads together can stream-read memory far larger than the caches. */
final class Bandwidth {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final long BYTES = 1L << 28;

    private static final MemorySegment BUFFER = Arena.ofAuto().allocate(BYTES, 64).fill((byte) 1);

    private Bandwidth() {
    }

    /** Read bandwidth now: the best of three passes over a buffer far larger than the caches. */
    static double measureGBs() {
        MemorySegment seg = BUFFER;
        double[] gbs = new double[3];
        float[] sink = new float[Parallel.threads()];
        for (int r = -1; r < gbs.length; r++) {
            long t0 = System.nanoTime();
            int chunks = Parallel.threads() * 8;
            long per = BYTES / chunks;
            Parallel.forRange(chunks, 1, (w, start, end) -> {
                FloatVector a0 = FloatVector.zero(F), a1 = a0;
                int step = F.vectorByteSize();
                for (int c = start; c < end; c++) {
                    for (long at = c * per; at < (c + 1) * per; at += 2L * step) {
                        a0 = a0.add(FloatVector.fromMemorySegment(F, seg, at, ByteOrder.LITTLE_ENDIAN));
                        a1 = a1.add(FloatVector.fromMemorySegment(F, seg, at + step, ByteOrder.LITTLE_ENDIAN));
                    }
                }
                sink[w] += a0.add(a1).lane(0);
            });
            long t1 = System.nanoTime();
            if (r >= 0) {
                gbs[r] = BYTES / (double) (t1 - t0);
            }
        }
        return Arrays.stream(gbs).max().orElseThrow();
    }
}
