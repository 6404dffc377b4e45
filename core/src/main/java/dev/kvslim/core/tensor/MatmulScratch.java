package dev.kvslim.core.tensor;

/**
 * Working memory of {@link FloatTensor#matmul} for rows of up to {@code maxCols} values and batches of up to
 * {@code maxTokens} tokens: the batch transposed (one row of tokens per input channel), and per worker a block of
 * {@link FloatTensor#ROW_BLOCK} weight rows expanded to floats and the block's outputs.
 */
public final class MatmulScratch {

    final int maxCols;
    final int maxTokens;
    final float[] transposed;
    final float[][] rows;
    final float[][] tiles;

    /** Scratch for batches of up to {@code maxTokens}; a batch of one needs none of it, so nothing is allocated. */
    public MatmulScratch(int maxCols, int maxTokens) {
        this.maxCols = maxCols;
        this.maxTokens = maxTokens;
        boolean batched = maxTokens > 1;
        int padded = Kernels.paddedTokens(maxTokens);
        int workers = batched ? Parallel.threads() : 0;
        this.transposed = new float[batched ? maxCols * padded : 0];
        this.rows = new float[workers][FloatTensor.ROW_BLOCK * maxCols];
        this.tiles = new float[workers][FloatTensor.ROW_BLOCK * padded];
    }
}
