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
 */
final class OneDnn {

    /** Why the library is not usable, or null when it is. */
    private static final String UNAVAILABLE;

    private static final MethodHandle SGEMM;
    private static final MethodHandle GEMM_BF16;
    private static final MethodHandle SET_THREADS;
    private static final String VERSION;

    static {
        MethodHandle[] handles = new MethodHandle[3];
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
        VERSION = version[0];
    }

    /** Binds the two products, oneDNN's version and OpenMP's thread count (FFM's restricted methods: the launcher and the tests enable native access). */
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
        try {
            if (SET_THREADS != null) {
                SET_THREADS.invokeExact(Parallel.threads());
            }
            status = (int) gemm.invokeExact(
                    (byte) 'N', (byte) 'T', (long) m, (long) n, (long) k, 1f, a, (long) k, b, (long) k, 0f, cs, (long)
                            ldc);
        } catch (Throwable t) {
            throw new IllegalStateException("oneDNN gemm failed", t);
        }
        if (status != 0) {
            throw new IllegalStateException("oneDNN gemm " + m + " x " + n + " x " + k + " returned status " + status);
        }
    }
}
