package dev.kvslim.core.tensor;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Runs the matrix kernels a model uses before its first request: the JIT compiles a method once it has run often,
 * and a large model's first forward pass otherwise runs its kernels cold (2.4 s before the first token of a 5-token
 * prompt on the 1B Q4_K_M file). Each distinct weight type and row width is multiplied, a slice of its first rows,
 * as one token and as a batch, until the kernels have run often enough for the optimising compiler. It costs about
 * what it saves (the compile time), so it pays where it runs before requests arrive: a server's start.
 */
public final class WarmUp {

    /** Rows of each slice: enough for every multi-row kernel and a share for each worker. */
    private static final int ROWS = 64;

    /** Tokens of the batched products: past the small batches, so the expansion for a GEMM runs too. */
    private static final int BATCH = 16;

    private WarmUp() {}

    /**
     * Multiplies slices of {@code matrices} (one per distinct type and width) {@code passes} times as one token, and
     * every fourth pass as a batch; returns the nanoseconds it took.
     */
    public static long run(List<FloatTensor> matrices, int passes) {
        long start = System.nanoTime();
        Set<String> seen = new HashSet<>();
        List<FloatTensor> slices = new ArrayList<>();
        int widest = 1;
        for (FloatTensor t : matrices) {
            if (seen.add(t.type() + "x" + t.cols())) {
                int rows = (int) Math.min(ROWS, t.rows());
                long bytes = t.type().bytesFor((long) rows * t.cols());
                slices.add(Tensors.of(t.type(), t.segment().asSlice(0, bytes), rows, t.cols()));
                widest = Math.max(widest, t.cols());
            }
        }
        float[] x = new float[widest * BATCH];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i * 0.37); // any finite values: the kernels' speed does not depend on them
        }
        float[] out = new float[ROWS * BATCH];
        MatmulScratch one = new MatmulScratch(widest, 1);
        MatmulScratch many = new MatmulScratch(widest, BATCH);
        for (int pass = 0; pass < passes; pass++) {
            for (FloatTensor s : slices) {
                s.matmul(x, 1, out, one);
                if (pass % 4 == 0) {
                    s.matmul(x, BATCH, out, many);
                }
            }
        }
        return System.nanoTime() - start;
    }
}
