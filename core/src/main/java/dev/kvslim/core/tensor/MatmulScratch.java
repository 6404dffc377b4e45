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
    final float[][] lanes;

    /** Scratch for batches of up to {@code maxTokens}; a batch of one needs none of it, so nothing is allocated. */
    public MatmulScratch(int maxCols, int maxTokens) {
        this.maxCols = maxCols;
        this.maxTokens = maxTokens;
        boolean batched = maxTokens > 1;
        this.transposed = new float[batched ? maxCols * Kernels.paddedTokens(maxTokens) : 0];
        this.rows = new float[batched ? Parallel.threads() : 0][Kernels.GEMM_ROWS * maxCols];
        this.lanes = new float[batched ? Parallel.threads() : 0][Kernels.lanes()];
    }
}
