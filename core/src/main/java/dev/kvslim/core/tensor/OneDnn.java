package dev.kvslim.core.tensor;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * The optional native matrix product: oneDNN's BLAS-like {@code dnnl_sgemm} and {@code dnnl_gemm_bf16bf16f32}
 * (row-major, {@code C = A B'} here), called through FFM from {@code libdnnl.so.2} where it is installed (Debian's
 * {@code libdnnl2}). On a CPU with AMX or AVX-512 it multiplies several times faster than the pure Java GEMM, which
 * stays the reference and the fallback ({@link MatmulBackend}).
 * <p>The calls are {@linkplain Linker.Option#critical critical}: the matrices are Java arrays, passed without a copy,
 * and the garbage collector waits for the call to return (tens of milliseconds for a prompt batch). oneDNN runs its
 * own OpenMP threads, as many as {@link Parallel#threads()}; the Java workers are idle meanwhile.
 * <p>Each call runs with the calling thread's asynchronous signals blocked (all but the fault signals, which cannot be
 * deferred), restored after it. A signal delivered to a thread inside oneDNN's AVX-512 kernels corrupts memory: JDK
 * Flight Recorder's execution sampler suspends threads with SIGUSR2, in native code too, and a process sampled so
 * aborted in glibc's malloc ("corrupted size vs. prev_size") within seconds, 3 runs of 3; so does a twenty-line program
 * that only calls {@code dnnl_sgemm} under JFR, with critical or ordinary downcalls alike, and none of them with the
 * mask (nor with oneDNN held to AVX2, {@code DNNL_MAX_CPU_ISA=AVX2}). Where inside oneDNN the signal frame does its
 * damage is not known. A signal sent meanwhile waits for the call to end; JFR's sampler gives up on that thread for
 * the sample. OpenMP's threads, started inside a call, inherit the mask and keep it.
 */
final class OneDnn {

    /** Why the library is not usable, or null when it is. */
    private static final String UNAVAILABLE;

    private static final MethodHandle SGEMM;
    private static final MethodHandle GEMM_BF16;
    private static final MethodHandle SET_THREADS;
    private static final MethodHandle SIGMASK;
    private static final String VERSION;

    /** {@code pthread_sigmask}'s {@code how}: add to the mask, or set it. */
    private static final int SIG_BLOCK = 0, SIG_SETMASK = 2;

    /** glibc's {@code sigset_t}: 1,024 bits. */
    private static final long SIGSET_BYTES = 128;

    /** The signals a call blocks: all of Linux's 64 but SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE and SIGSEGV. */
    private static final MemorySegment ASYNC_SIGNALS = asyncSignals();

    /** Per thread, where a call keeps the mask it restores. */
    private static final ThreadLocal<MemorySegment> SAVED_MASK =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(SIGSET_BYTES, 8));

    static {
        MethodHandle[] handles = new MethodHandle[4];
        String[] version = {""};
        String why = null;
        try {
            bind(handles, version);
        } catch (Throwable t) { // IllegalArgumentException (no library), UnsatisfiedLinkError, IllegalCallerException
            why = t.getClass().getSimpleName() + ": " + t.getMessage();
        }
        UNAVAILABLE = why;
        SGEMM = handles[0];
        GEMM_BF16 = handles[1];
        SET_THREADS = handles[2];
        SIGMASK = handles[3];
        VERSION = version[0];
    }

    /** Binds the two products, oneDNN's version, OpenMP's thread count and libc's signal mask (FFM's restricted methods: the launcher and the tests enable native access). */
    @SuppressWarnings("restricted")
    private static void bind(MethodHandle[] handles, String[] version) throws Throwable {
        Linker linker = Linker.nativeLinker();
        SymbolLookup lib = SymbolLookup.libraryLookup("libdnnl.so.2", Arena.global());
        // transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc
        FunctionDescriptor gemm = FunctionDescriptor.of(
                JAVA_INT,
                JAVA_BYTE,
                JAVA_BYTE,
                JAVA_LONG,
                JAVA_LONG,
                JAVA_LONG,
                JAVA_FLOAT,
                ADDRESS,
                JAVA_LONG,
                ADDRESS,
                JAVA_LONG,
                JAVA_FLOAT,
                ADDRESS,
                JAVA_LONG);
        Linker.Option heap = Linker.Option.critical(true);
        handles[0] = linker.downcallHandle(find(lib, "dnnl_sgemm"), gemm, heap);
        handles[1] = linker.downcallHandle(find(lib, "dnnl_gemm_bf16bf16f32"), gemm, heap);
        // const dnnl_version_t *dnnl_version(void): {int major, minor, patch; const char *hash; ...}
        MethodHandle v = linker.downcallHandle(find(lib, "dnnl_version"), FunctionDescriptor.of(ADDRESS));
        MemorySegment info = ((MemorySegment) v.invokeExact()).reinterpret(12);
        version[0] = info.get(JAVA_INT, 0) + "." + info.get(JAVA_INT, 4) + "." + info.get(JAVA_INT, 8);
        // oneDNN's OpenMP runtime: its thread count is set per calling thread, before each call
        Optional<MemorySegment> omp =
                SymbolLookup.libraryLookup("libgomp.so.1", Arena.global()).find("omp_set_num_threads");
        if (omp.isPresent()) {
            handles[2] = linker.downcallHandle(omp.get(), FunctionDescriptor.ofVoid(JAVA_INT));
        }
        // int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
        handles[3] = linker.downcallHandle(
                linker.defaultLookup()
                        .find("pthread_sigmask")
                        .orElseThrow(() -> new IllegalArgumentException(
                                "no pthread_sigmask to keep signals out of oneDNN's calls")),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    }

    private static MemorySegment asyncSignals() {
        MemorySegment set = Arena.global().allocate(SIGSET_BYTES, 8);
        long bits = -1L;
        for (int fault : new int[] {4, 5, 6, 7, 8, 11}) { // SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGSEGV
            bits &= ~(1L << (fault - 1));
        }
        set.set(JAVA_LONG, 0, bits);
        return set;
    }

    private OneDnn() {}

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new IllegalArgumentException("libdnnl.so.2 has no " + name));
    }

    /** Whether libdnnl.so.2 was found and bound. */
    static boolean available() {
        return UNAVAILABLE == null;
    }

    /** Why it is not available ({@code null} when it is). */
    static String unavailableReason() {
        return UNAVAILABLE;
    }

    /** "oneDNN 2.6.3", or why it is not there. */
    static String describe() {
        return available() ? "oneDNN " + VERSION : "no oneDNN (" + UNAVAILABLE + ")";
    }

    /**
     * {@code c[cOff + t*ldc + r] = sum_k a[aOff + t*k + i] * b[r*k + i]} for t in [0, m), r in [0, n): a batch of
     * {@code m} rows of {@code k} floats times the transpose of {@code n} weight rows, in floats.
     */
    static void sgemm(int m, int n, int k, float[] a, MemorySegment b, float[] c, int cOff, int ldc) {
        call(SGEMM, 4, m, n, k, MemorySegment.ofArray(a), b, c, cOff, ldc);
    }

    /** As {@link #sgemm}, with the batch and the weights in bfloat16, the sums in floats. */
    static void gemmBf16(int m, int n, int k, short[] a, MemorySegment b, float[] c, int cOff, int ldc) {
        call(GEMM_BF16, 2, m, n, k, MemorySegment.ofArray(a), b, c, cOff, ldc);
    }

    private static void call(
            MethodHandle gemm,
            int bytes,
            int m,
            int n,
            int k,
            MemorySegment a,
            MemorySegment b,
            float[] c,
            int cOff,
            int ldc) {
        if (UNAVAILABLE != null) {
            throw new IllegalStateException("oneDNN is not available: " + UNAVAILABLE);
        }
        MemorySegment cs = MemorySegment.ofArray(c).asSlice(cOff * 4L);
        if (a.byteSize() < (long) m * k * bytes
                || cs.byteSize() < ((long) (m - 1) * ldc + n) * 4
                || b.byteSize() < (long) n * k * bytes) {
            throw new IndexOutOfBoundsException("oneDNN gemm " + m + " x " + n + " x " + k + " outside its arrays");
        }
        int status;
        MemorySegment saved = SAVED_MASK.get();
        try {
            if ((int) SIGMASK.invokeExact(SIG_BLOCK, ASYNC_SIGNALS, saved) != 0) {
                throw new IllegalStateException("pthread_sigmask failed: signals not blocked for oneDNN");
            }
        } catch (Throwable t) {
            throw new IllegalStateException("cannot block signals for oneDNN", t);
        }
        try {
            if (SET_THREADS != null) {
                SET_THREADS.invokeExact(Parallel.threads());
            }
            status = (int) gemm.invokeExact(
                    (byte) 'N', (byte) 'T', (long) m, (long) n, (long) k, 1f, a, (long) k, b, (long) k, 0f, cs, (long)
                            ldc);
        } catch (Throwable t) {
            throw new IllegalStateException("oneDNN gemm failed", t);
        } finally {
            restore(saved);
        }
        if (status != 0) {
            throw new IllegalStateException("oneDNN gemm " + m + " x " + n + " x " + k + " returned status " + status);
        }
    }

    /** Sets the calling thread's signal mask back to {@code saved}. */
    private static void restore(MemorySegment saved) {
        int rc;
        try {
            rc = (int) SIGMASK.invokeExact(SIG_SETMASK, saved, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException("cannot restore the signal mask after oneDNN", t);
        }
        if (rc != 0) {
            throw new IllegalStateException(
                    "pthread_sigmask returned " + rc + ": the signal mask after oneDNN is wrong");
        }
    }
}
