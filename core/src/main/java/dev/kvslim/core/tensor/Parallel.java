package dev.kvslim.core.tensor;

import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Splits an index range into at most {@link #threads()} contiguous chunks and runs them on a small pool of
 * worker threads, the caller taking the first chunk. Each chunk gets a worker number in
 * {@code [0, threads())}, so callers can hand it preallocated scratch space and stay allocation-free.
 * <p>A decode step issues about a hundred short parallel loops, so handing work over must take microseconds:
 * idle workers spin briefly before they park. If the pool is busy (another thread is running a loop), or the
 * caller is itself a worker, the loop runs on the caller alone, which gives the same results.
 * <p>The thread count is {@code -Dkvslim.threads=N}, else the number of available processors.
 */
public final class Parallel {

    /** Body of a parallel loop over {@code [start, end)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int worker, int start, int end);
    }

    /** Work (multiply-adds, roughly) below which handing a chunk to another thread costs more than it saves. */
    public static final long MIN_WORK_PER_THREAD = 1 << 15;

    private static final int THREADS = Math.max(1,
            Integer.getInteger("kvslim.threads", Runtime.getRuntime().availableProcessors()));
    private static final long SPIN_NANOS = 200_000;

    private static final ReentrantLock LOCK = new ReentrantLock();
    private static final AtomicInteger REMAINING = new AtomicInteger();
    private static final Thread[] WORKERS = new Thread[THREADS];
    private static final boolean[] PARKED = new boolean[THREADS];
    private static volatile long generation;
    private static volatile RangeBody body;
    private static volatile int items;
    private static volatile int chunks;
    private static volatile Throwable failure;

    static {
        for (int i = 1; i < THREADS; i++) {
            int id = i;
            Thread t = new Thread(() -> work(id), "kvslim-worker-" + i);
            t.setDaemon(true);
            WORKERS[i] = t;
            t.start();
        }
    }

    private Parallel() {
    }

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
    public static void forRange(int n, int minChunk, RangeBody task) {
        if (n <= 0) {
            return;
        }
        int c = (int) Math.min(THREADS, Math.max(1, n / Math.max(1, minChunk)));
        if (c <= 1 || Thread.currentThread().getName().startsWith("kvslim-worker-") || !LOCK.tryLock()) {
            task.run(0, 0, n);
            return;
        }
        try {
            body = task;
            items = n;
            chunks = c;
            failure = null;
            REMAINING.set(c - 1);
            generation++;
            VarHandle.fullFence(); // publish the generation before reading who is parked
            for (int i = 1; i < c; i++) {
                if (PARKED[i]) {
                    LockSupport.unpark(WORKERS[i]);
                }
            }
            task.run(0, 0, (int) ((long) n / c));
            while (REMAINING.get() > 0) {
                Thread.onSpinWait();
            }
            Throwable t = failure;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
        } finally {
            body = null;
            LOCK.unlock();
        }
    }

    private static void work(int id) {
        long seen = 0;
        while (true) {
            long g = generation;
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (g == seen) {
                Thread.onSpinWait();
                if (System.nanoTime() > spinUntil) {
                    PARKED[id] = true;
                    VarHandle.fullFence(); // publish "parked" before re-reading the generation
                    if (generation == seen) {
                        LockSupport.park();
                    }
                    PARKED[id] = false;
                    spinUntil = System.nanoTime() + SPIN_NANOS;
                }
                g = generation;
            }
            seen = g;
            int c = chunks;
            if (id < c) {
                try {
                    int n = items;
                    body.run(id, (int) ((long) n * id / c), (int) ((long) n * (id + 1) / c));
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    REMAINING.decrementAndGet();
                }
            }
        }
    }
}
