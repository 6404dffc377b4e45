package dev.kvslim.core.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one matrix product training needs, in the three orientations of a linear layer's forward and backward:
 * {@code C[i, j] (+)= sum_k A(i, k) * B[k, j]} with {@code B} and {@code C} row-major and {@code A} read through
 * two strides, so that a transposed operand needs no copy ({@code A(i, k) = a[aOff + i*ars + k*acs]}).
 * <p>The micro-kernel keeps an 8-row by 2-vector block of {@code C} in registers and, per {@code k}, broadcasts
 * one value of each row against two vectors of a row of {@code B}: no horizontal sums, and every output is one
 * sequential sum over {@code k} in increasing order, whatever the blocking or the thread count (threads split
 * the rows), so results are bitwise reproducible. {@code k} is blocked by {@value #KC} and rows by {@value #MC}
 * so that a block of {@code B} and one of {@code A} stay in cache while they are reused.
 */
public final class Gemm {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Rows of {@code C} per micro-kernel. */
    public static final int MR = 8;

    private static final int KC = 256;
    private static final int MC = 64;

    /** Per thread: the packed rows of A for {@link #kernel8x2} ({@value #MC} x {@value #KC} in the usual blocking). */
    private static final ThreadLocal<float[]> PACKED = ThreadLocal.withInitial(() -> new float[MC * KC]);

    private Gemm() {}

    /** Row-parallel {@link #serial} (rows split between threads in blocks of {@link #MR}). */
    public static void parallel(
            int m,
            int n,
            int k,
            float[] a,
            int aOff,
            int ars,
            int acs,
            float[] b,
            int bOff,
            int ldb,
            float[] c,
            int cOff,
            int ldc,
            boolean accumulate) {
        int blocks = (m + MR - 1) / MR;
        Parallel.forRange(blocks, Parallel.grain((long) MR * n * k), (w, start, end) -> {
            int i0 = start * MR, i1 = Math.min(m, end * MR);
            serial(i1 - i0, n, k, a, aOff + i0 * ars, ars, acs, b, bOff, ldb, c, cOff + i0 * ldc, ldc, accumulate);
        });
    }

    /** {@code C (+)= A B} for {@code m x n} outputs over {@code k} products, on the calling thread. */
    public static void serial(
            int m,
            int n,
            int k,
            float[] a,
            int aOff,
            int ars,
            int acs,
            float[] b,
            int bOff,
            int ldb,
            float[] c,
            int cOff,
            int ldc,
            boolean accumulate) {
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < m; i++) {
                    java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
                }
            }
            return;
        }
        for (int i0 = 0; i0 < m; i0 += MC) {
            int mc = Math.min(MC, m - i0);
            for (int k0 = 0; k0 < k; k0 += KC) {
                int k1 = Math.min(k, k0 + KC);
                boolean load = accumulate || k0 > 0;
                block(mc, n, k0, k1, a, aOff + i0 * ars, ars, acs, b, bOff, ldb, c, cOff + i0 * ldc, ldc, load);
            }
        }
    }

    /**
     * {@code C[i, j] = (load ? C[i, j] : 0) + sum_{k0 <= k < k1} A(i, k) B[k, j]} for {@code i < m, j < n}: one
     * cache block, or a causal slice of one (attention calls it with per-row-block {@code k} ranges).
     */
    public static void block(
            int m,
            int n,
            int k0,
            int k1,
            float[] a,
            int aOff,
            int ars,
            int acs,
            float[] b,
            int bOff,
            int ldb,
            float[] c,
            int cOff,
            int ldc,
            boolean load) {
        int groups = m / MR, kc = k1 - k0;
        float[] packed = null;
        if (groups > 0 && n >= 2 * L) {
            // rows i..i+7 of A over k0..k1, k-major: the micro-kernel's eight values for one k are adjacent, read
            // at one offset (read in place, eight strided rows took a register and a bounds check each)
            packed = PACKED.get();
            if (packed.length < groups * kc * MR) {
                packed = new float[groups * kc * MR];
                PACKED.set(packed);
            }
            if (ars == 1) {
                // A read transposed (attention's keys against a block of queries): the eight values of one k are
                // adjacent already, one copy each
                for (int g = 0; g < groups; g++) {
                    int from = aOff + g * MR + k0 * acs, to = g * kc * MR;
                    for (int k = 0; k < kc; k++) {
                        System.arraycopy(a, from + k * acs, packed, to + k * MR, MR);
                    }
                }
            } else {
                for (int g = 0; g < groups; g++) {
                    for (int r = 0; r < MR; r++) {
                        int from = aOff + (g * MR + r) * ars + k0 * acs, to = g * kc * MR + r;
                        for (int k = 0; k < kc; k++) {
                            packed[to + k * MR] = a[from + k * acs];
                        }
                    }
                }
            }
        }
        int j = 0;
        for (; j + 2 * L <= n; j += 2 * L) {
            int i = 0;
            for (; i + MR <= m; i += MR) {
                kernel8x2(kc, packed, i * kc, b, bOff + k0 * ldb + j, ldb, c, cOff + i * ldc + j, ldc, load);
            }
            for (; i < m; i++) {
                kernel1(k0, k1, a, aOff + i * ars, acs, b, bOff + j, ldb, c, cOff + i * ldc + j, load, F.maskAll(true));
                kernel1(
                        k0,
                        k1,
                        a,
                        aOff + i * ars,
                        acs,
                        b,
                        bOff + j + L,
                        ldb,
                        c,
                        cOff + i * ldc + j + L,
                        load,
                        F.maskAll(true));
            }
        }
        for (; j < n; j += L) {
            VectorMask<Float> mask = F.indexInRange(j, n);
            int i = 0;
            for (; i + MR <= m; i += MR) {
                kernel8x1(
                        k0, k1, a, aOff + i * ars, ars, acs, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc, load, mask);
            }
            for (; i < m; i++) {
                kernel1(k0, k1, a, aOff + i * ars, acs, b, bOff + j, ldb, c, cOff + i * ldc + j, load, mask);
            }
        }
    }

    /**
     * {@code C[8 rows, 2 vectors] (+)= A B} over {@code kc} products, A packed k-major from {@code ap[apOff]}
     * (the eight values of one k adjacent), B from {@code b[bOff]} with rows {@code ldb} apart.
     */
    private static void kernel8x2(
            int kc, float[] ap, int apOff, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean load) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (load) {
            c00 = FloatVector.fromArray(F, c, cOff);
            c01 = FloatVector.fromArray(F, c, cOff + L);
            c10 = FloatVector.fromArray(F, c, cOff + ldc);
            c11 = FloatVector.fromArray(F, c, cOff + ldc + L);
            c20 = FloatVector.fromArray(F, c, cOff + 2 * ldc);
            c21 = FloatVector.fromArray(F, c, cOff + 2 * ldc + L);
            c30 = FloatVector.fromArray(F, c, cOff + 3 * ldc);
            c31 = FloatVector.fromArray(F, c, cOff + 3 * ldc + L);
            c40 = FloatVector.fromArray(F, c, cOff + 4 * ldc);
            c41 = FloatVector.fromArray(F, c, cOff + 4 * ldc + L);
            c50 = FloatVector.fromArray(F, c, cOff + 5 * ldc);
            c51 = FloatVector.fromArray(F, c, cOff + 5 * ldc + L);
            c60 = FloatVector.fromArray(F, c, cOff + 6 * ldc);
            c61 = FloatVector.fromArray(F, c, cOff + 6 * ldc + L);
            c70 = FloatVector.fromArray(F, c, cOff + 7 * ldc);
            c71 = FloatVector.fromArray(F, c, cOff + 7 * ldc + L);
        } else {
            c00 = FloatVector.zero(F);
            c01 = c00;
            c10 = c00;
            c11 = c00;
            c20 = c00;
            c21 = c00;
            c30 = c00;
            c31 = c00;
            c40 = c00;
            c41 = c00;
            c50 = c00;
            c51 = c00;
            c60 = c00;
            c61 = c00;
            c70 = c00;
            c71 = c00;
        }
        for (int k = 0, ak = apOff, bk = bOff; k < kc; k++, ak += MR, bk += ldb) {
            FloatVector b0 = FloatVector.fromArray(F, b, bk);
            FloatVector b1 = FloatVector.fromArray(F, b, bk + L);
            FloatVector x = FloatVector.broadcast(F, ap[ak]);
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(F, ap[ak + 1]);
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(F, ap[ak + 2]);
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(F, ap[ak + 3]);
            c30 = b0.fma(x, c30);
            c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(F, ap[ak + 4]);
            c40 = b0.fma(x, c40);
            c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(F, ap[ak + 5]);
            c50 = b0.fma(x, c50);
            c51 = b1.fma(x, c51);
            x = FloatVector.broadcast(F, ap[ak + 6]);
            c60 = b0.fma(x, c60);
            c61 = b1.fma(x, c61);
            x = FloatVector.broadcast(F, ap[ak + 7]);
            c70 = b0.fma(x, c70);
            c71 = b1.fma(x, c71);
        }
        c00.intoArray(c, cOff);
        c01.intoArray(c, cOff + L);
        c10.intoArray(c, cOff + ldc);
        c11.intoArray(c, cOff + ldc + L);
        c20.intoArray(c, cOff + 2 * ldc);
        c21.intoArray(c, cOff + 2 * ldc + L);
        c30.intoArray(c, cOff + 3 * ldc);
        c31.intoArray(c, cOff + 3 * ldc + L);
        c40.intoArray(c, cOff + 4 * ldc);
        c41.intoArray(c, cOff + 4 * ldc + L);
        c50.intoArray(c, cOff + 5 * ldc);
        c51.intoArray(c, cOff + 5 * ldc + L);
        c60.intoArray(c, cOff + 6 * ldc);
        c61.intoArray(c, cOff + 6 * ldc + L);
        c70.intoArray(c, cOff + 7 * ldc);
        c71.intoArray(c, cOff + 7 * ldc + L);
    }

    private static void kernel8x1(
            int k0,
            int k1,
            float[] a,
            int aOff,
            int ars,
            int acs,
            float[] b,
            int bOff,
            int ldb,
            float[] c,
            int cOff,
            int ldc,
            boolean load,
            VectorMask<Float> mask) {
        FloatVector c0, c1, c2, c3, c4, c5, c6, c7;
        if (load) {
            c0 = FloatVector.fromArray(F, c, cOff, mask);
            c1 = FloatVector.fromArray(F, c, cOff + ldc, mask);
            c2 = FloatVector.fromArray(F, c, cOff + 2 * ldc, mask);
            c3 = FloatVector.fromArray(F, c, cOff + 3 * ldc, mask);
            c4 = FloatVector.fromArray(F, c, cOff + 4 * ldc, mask);
            c5 = FloatVector.fromArray(F, c, cOff + 5 * ldc, mask);
            c6 = FloatVector.fromArray(F, c, cOff + 6 * ldc, mask);
            c7 = FloatVector.fromArray(F, c, cOff + 7 * ldc, mask);
        } else {
            c0 = FloatVector.zero(F);
            c1 = c0;
            c2 = c0;
            c3 = c0;
            c4 = c0;
            c5 = c0;
            c6 = c0;
            c7 = c0;
        }
        for (int k = k0; k < k1; k++) {
            FloatVector b0 = FloatVector.fromArray(F, b, bOff + k * ldb, mask);
            int ak = aOff + k * acs;
            c0 = b0.fma(FloatVector.broadcast(F, a[ak]), c0);
            c1 = b0.fma(FloatVector.broadcast(F, a[ak + ars]), c1);
            c2 = b0.fma(FloatVector.broadcast(F, a[ak + 2 * ars]), c2);
            c3 = b0.fma(FloatVector.broadcast(F, a[ak + 3 * ars]), c3);
            c4 = b0.fma(FloatVector.broadcast(F, a[ak + 4 * ars]), c4);
            c5 = b0.fma(FloatVector.broadcast(F, a[ak + 5 * ars]), c5);
            c6 = b0.fma(FloatVector.broadcast(F, a[ak + 6 * ars]), c6);
            c7 = b0.fma(FloatVector.broadcast(F, a[ak + 7 * ars]), c7);
        }
        c0.intoArray(c, cOff, mask);
        c1.intoArray(c, cOff + ldc, mask);
        c2.intoArray(c, cOff + 2 * ldc, mask);
        c3.intoArray(c, cOff + 3 * ldc, mask);
        c4.intoArray(c, cOff + 4 * ldc, mask);
        c5.intoArray(c, cOff + 5 * ldc, mask);
        c6.intoArray(c, cOff + 6 * ldc, mask);
        c7.intoArray(c, cOff + 7 * ldc, mask);
    }

    private static void kernel1(
            int k0,
            int k1,
            float[] a,
            int aOff,
            int acs,
            float[] b,
            int bOff,
            int ldb,
            float[] c,
            int cOff,
            boolean load,
            VectorMask<Float> mask) {
        FloatVector acc = load ? FloatVector.fromArray(F, c, cOff, mask) : FloatVector.zero(F);
        for (int k = k0; k < k1; k++) {
            acc = FloatVector.fromArray(F, b, bOff + k * ldb, mask)
                    .fma(FloatVector.broadcast(F, a[aOff + k * acs]), acc);
        }
        acc.intoArray(c, cOff, mask);
    }
}
