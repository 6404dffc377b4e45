package dev.kvslim.bench;

import dev.kvslim.core.tensor.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Measures how fast all threads together can stream-read memory far larger than the caches. */
final class Bandwidth {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final long BYTES = 1L << 30;

    private Bandwidth() {
    }

    static double measureGBs(int repeats) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(BYTES, 64);
            seg.fill((byte) 1);
            double[] gbs = new double[Math.max(1, repeats)];
            float[] sink = new float[Parallel.threads()];
            for (int r = -1; r < gbs.length; r++) {
                long t0 = System.nanoTime();
                int chunks = Parallel.threads() * 8;
                long per = BYTES / chunks;
                Parallel.forRange(chunks, 1, (w, start, end) -> {
                    FloatVector acc = FloatVector.zero(F);
                    for (int c = start; c < end; c++) {
                        for (long at = c * per; at < (c + 1) * per; at += F.vectorByteSize()) {
                            acc = acc.add(FloatVector.fromMemorySegment(F, seg, at, ByteOrder.LITTLE_ENDIAN));
                        }
                    }
                    sink[w] += acc.lane(0);
                });
                long t1 = System.nanoTime();
                if (r >= 0) {
                    gbs[r] = BYTES / (double) (t1 - t0);
                }
            }
            return EngineBenchmark.median(gbs);
        }
    }
}
