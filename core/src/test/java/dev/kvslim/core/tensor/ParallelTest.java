package dev.kvslim.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The worker pool: every index exactly once, under concurrent callers, nesting and failures. */
class ParallelTest {

    /** Runs a loop over n items and checks each was visited exactly once, by a worker number in range. */
    private static void coversEachIndexOnce(int n, int minChunk) {
        AtomicIntegerArray hits = new AtomicIntegerArray(n);
        Parallel.forRange(n, minChunk, (worker, start, end) -> {
            assertThat(worker).isBetween(0, Parallel.threads() - 1);
            for (int i = start; i < end; i++) {
                hits.incrementAndGet(i);
            }
        });
        for (int i = 0; i < n; i++) {
            assertThat(hits.get(i)).as("index %d of %d", i, n).isEqualTo(1);
        }
    }

    @Test
    void everyIndexRunsExactlyOnce() {
        for (int round = 0; round < 2000; round++) {
            coversEachIndexOnce(1 + round % 97, 1);
        }
    }

    @Test
    void concurrentCallersEachGetTheirWholeLoop() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                futures.add(pool.submit(() -> {
                    for (int round = 0; round < 500; round++) {
                        coversEachIndexOnce(1 + round % 61, 1);
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void nestedLoopsRunInline() {
        AtomicIntegerArray hits = new AtomicIntegerArray(64 * 8);
        Parallel.forRange(64, 1, (w, start, end) -> {
            for (int i = start; i < end; i++) {
                int outer = i;
                Parallel.forRange(8, 1, (w2, s2, e2) -> {
                    for (int j = s2; j < e2; j++) {
                        hits.incrementAndGet(outer * 8 + j);
                    }
                });
            }
        });
        for (int i = 0; i < hits.length(); i++) {
            assertThat(hits.get(i)).isEqualTo(1);
        }
    }

    @Test
    void aFailingChunkIsRethrownAndThePoolStaysUsable() {
        for (int round = 0; round < 50; round++) {
            int failAt = round % 40;
            assertThatThrownBy(() -> Parallel.forRange(40, 1, (w, start, end) -> {
                        if (failAt >= start && failAt < end) {
                            throw new IllegalStateException("chunk with " + failAt);
                        }
                    }))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("chunk with " + failAt);
            coversEachIndexOnce(40, 1);
        }
    }

    @Test
    void smallLoopsStayOnTheCaller() {
        Thread caller = Thread.currentThread();
        Parallel.forRange(10, 100, (w, start, end) -> {
            assertThat(Thread.currentThread()).isSameAs(caller);
            assertThat(start).isZero();
            assertThat(end).isEqualTo(10);
        });
        assertThat(Parallel.grain(1 << 20)).isEqualTo(1);
        assertThat(Parallel.grain(1)).isEqualTo((int) Parallel.MIN_WORK_PER_THREAD);
    }
}
