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
 * idle workers, and a caller waiting for them, spin briefly before they park (only briefly: on a machine whose cores
 * other processes also want, a spinning thread takes time from the one it waits for). If the pool is busy (another thread is running a loop), or the
 * caller is itself inside a loop, the loop runs on the caller alone, which gives the same results.
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

    private static final int THREADS = Math.max(
            1, Integer.getInteger("kvslim.threads", Runtime.getRuntime().availableProcessors()));
    private static final long SPIN_NANOS = 50_000;

    /** One parallel loop, published to the workers whole through {@link #current}. */
    private record Job(
            RangeBody body, int items, int chunks, AtomicInteger remaining, Throwable[] failure, Thread caller) {
        void runChunk(int chunk) {
            try {
                body.run(chunk, (int) ((long) items * chunk / chunks), (int) ((long) items * (chunk + 1) / chunks));
            } catch (Throwable t) {
                failure[0] = t;
            } finally {
                if (remaining.decrementAndGet() == 0 && Thread.currentThread() != caller) {
                    LockSupport.unpark(caller);
                }
            }
        }
    }

    /** A pool thread; loops inside it run on it alone. */
    private static final class Worker extends Thread {
        final int id;
        volatile boolean parked;

        Worker(int id) {
            super("kvslim-worker-" + id);
            this.id = id;
            setDaemon(true);
        }

        @Override
        @SuppressWarnings("ReferenceEquality") // jobs are told apart by identity: a worker must not run one twice
        public void run() {
            Job done = null;
            while (true) {
                Job job = current;
                long spinUntil = System.nanoTime() + SPIN_NANOS;
                while (job == done || job == null) {
                    Thread.onSpinWait();
                    if (System.nanoTime() > spinUntil) {
                        parked = true;
                        VarHandle.fullFence(); // publish "parked" before looking for work again
                        if (current == done || current == null) {
                            LockSupport.park();
                        }
                        parked = false;
                        spinUntil = System.nanoTime() + SPIN_NANOS;
                    }
                    job = current;
                }
                done = job;
                if (id < job.chunks()) {
                    job.runChunk(id);
                }
            }
        }
    }

    private static final ReentrantLock LOCK = new ReentrantLock();
    private static final Worker[] WORKERS = new Worker[THREADS];
    private static volatile Job current;

    static {
        for (int i = 1; i < THREADS; i++) {
            WORKERS[i] = new Worker(i);
            WORKERS[i].start();
        }
    }

    private Parallel() {}

    public static int threads() {
        return THREADS;
    }

    /** Smallest chunk of items worth its own thread when each item costs {@code workPerItem}. */
    public static int grain(long workPerItem) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, MIN_WORK_PER_THREAD / Math.max(1, workPerItem)));
    }

    /**
     * Runs {@code body} over {@code [0, n)}; ranges shorter than {@code minChunk} per thread run on the caller
     * alone, since handing them out costs more than it saves. Returns once every chunk has finished; the first
     * failure of any chunk is rethrown.
     */
    public static void forRange(int n, int minChunk, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int chunks = Math.min(THREADS, Math.max(1, n / Math.max(1, minChunk)));
        if (chunks <= 1
                || Thread.currentThread() instanceof Worker
                || LOCK.isHeldByCurrentThread()
                || !LOCK.tryLock()) {
            body.run(0, 0, n);
            return;
        }
        Job job = new Job(body, n, chunks, new AtomicInteger(chunks), new Throwable[1], Thread.currentThread());
        try {
            current = job;
            VarHandle.fullFence(); // publish the job before reading who is parked
            for (int i = 1; i < chunks; i++) {
                if (WORKERS[i].parked) {
                    LockSupport.unpark(WORKERS[i]);
                }
            }
            job.runChunk(0);
            // spin briefly for the usual case, then sleep until the last worker wakes us: when other processes
            // hold the cores, spinning would only take time from the worker being waited for
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (job.remaining().get() > 0) {
                if (System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(job);
                }
            }
        } finally {
            LOCK.unlock();
        }
        Throwable t = job.failure()[0];
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (t != null) {
            throw new IllegalStateException("parallel loop failed", t);
        }
    }
}
