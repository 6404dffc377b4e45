package dev.kvslim.core.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * Splits an index range into at most {@link #threads()} contiguous chunks and runs them on the common
 * fork-join pool, the caller taking the first chunk. Each chunk gets a worker number in
 * {@code [0, threads())}, so callers can hand it preallocated scratch space and stay allocation-free.
 * <p>The thread count is {@code -Dkvslim.threads=N}, else the number of available processors.
 */
public final class Parallel {

    /** Body of a parallel loop over {@code [start, end)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int worker, int start, int end);
    }

    private static final int THREADS = Math.max(1,
            Integer.getInteger("kvslim.threads", Runtime.getRuntime().availableProcessors()));
    private static final ForkJoinPool POOL = THREADS <= 1 ? null : new ForkJoinPool(THREADS - 1);

    private Parallel() {
    }

    /** Work (multiply-adds, roughly) below which handing a chunk to another thread costs more than it saves. */
    public static final long MIN_WORK_PER_THREAD = 1 << 16;

    public static int threads() {
        return THREADS;
    }

    /** Smallest chunk of items worth its own thread when each item costs {@code workPerItem}. */
    public static int grain(long workPerItem) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, MIN_WORK_PER_THREAD / Math.max(1, workPerItem)));
    }

    /**
     * Runs {@code body} over {@code [0, n)}; ranges shorter than {@code minChunk} per thread run on the caller
     * alone, since handing them out costs more than it saves.
     */
    public static void forRange(int n, int minChunk, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int chunks = (int) Math.min(THREADS, Math.max(1, n / Math.max(1, minChunk)));
        if (chunks <= 1 || POOL == null) {
            body.run(0, 0, n);
            return;
        }
        @SuppressWarnings("unchecked")
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[chunks - 1];
        for (int c = 1; c < chunks; c++) {
            int worker = c;
            int start = (int) ((long) n * c / chunks);
            int end = (int) ((long) n * (c + 1) / chunks);
            tasks[c - 1] = POOL.submit(() -> body.run(worker, start, end));
        }
        body.run(0, 0, (int) ((long) n / chunks));
        for (ForkJoinTask<?> t : tasks) {
            t.join();
        }
    }
}
