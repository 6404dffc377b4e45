package dev.kvslim.core.tensor;

/**
 * Working memory of {@link FloatTensor#matmul} for rows of up to {@code maxCols} values and batches of up to
 * {@code maxTokens} tokens: the batch transposed (one vector of tokens per input channel), and per worker a
 * block of expanded weight rows.
 */
public final class MatmulScratch {

    final int maxCols;
    final int maxTokens;
    final float[] transposed;
    final float[][] rows;

    public MatmulScratch(int maxCols, int maxTokens) {
        this.maxCols = maxCols;
        this.maxTokens = maxTokens;
        this.transposed = new float[maxCols * Kernels.paddedTokens(maxTokens)];
        this.rows = new float[Parallel.threads()][Kernels.GEMM_ROWS * maxCols];
    }
}
