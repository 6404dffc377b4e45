package dev.kvslim.core.tensor;

/**
 * Working memory of {@link FloatTensor#matmul} for rows of up to {@code maxCols} values and batches of up to
 * {@code maxTokens} tokens: the batch transposed (one row of tokens per input channel), and per worker a block of
 * {@link FloatTensor#ROW_BLOCK} weight rows expanded to floats and the block's outputs; with the oneDNN backend
 * also a chunk of weight rows expanded for it ({@link FloatTensor#nativeChunkValues} values, as floats and as
 * bfloat16) and the batch in bfloat16.
 */
public final class MatmulScratch {

    final int maxCols;
    final int maxTokens;
    final MatmulBackend backend;
    final float[] transposed;
    final float[][] rows;
    final float[][] tiles;
    final float[] nativeFloats;
    final short[] nativeHalves;
    final short[] batchHalves;
    /** For a small batch: each token's input (shared by the workers), and per worker outputs indexed by row. */
    final float[][] smallInput;

    private final float[][] smallOutputs;

    /** Scratch for batches of up to {@code maxTokens}, products by the configured backend. */
    public MatmulScratch(int maxCols, int maxTokens) {
        this(maxCols, maxTokens, MatmulBackend.configured());
    }

    /** Scratch for batches of up to {@code maxTokens}; a batch of one needs none of it, so nothing is allocated. */
    public MatmulScratch(int maxCols, int maxTokens, MatmulBackend backend) {
        this.maxCols = maxCols;
        this.maxTokens = maxTokens;
        this.backend = backend;
        boolean batched = maxTokens > 1;
        int padded = Kernels.paddedTokens(maxTokens);
        int workers = batched ? Parallel.threads() : 0;
        this.transposed = new float[batched ? maxCols * padded : 0];
        this.rows = new float[workers][FloatTensor.ROW_BLOCK * maxCols];
        this.tiles = new float[workers][FloatTensor.ROW_BLOCK * padded];
        boolean nativeBatches =
                batched && backend == MatmulBackend.ONEDNN && maxTokens >= FloatTensor.NATIVE_MIN_TOKENS;
        int chunk = nativeBatches ? FloatTensor.nativeChunkValues(maxCols) : 0;
        this.nativeFloats = new float[chunk];
        this.nativeHalves = new short[chunk];
        this.batchHalves = new short[nativeBatches ? maxCols * maxTokens : 0];
        this.smallInput = new float[batched ? Math.min(maxTokens, FloatTensor.SMALL_BATCH) : 0][maxCols];
        this.smallOutputs = new float[workers][0];
    }

    /** Worker {@code w}'s output buffer for a small batch, at least {@code rows} long (allocated once per size). */
    float[] smallOutput(int w, int rows) {
        if (smallOutputs[w].length < rows) {
            smallOutputs[w] = new float[rows];
        }
        return smallOutputs[w];
    }

    /** Who multiplies batches with this scratch. */
    public MatmulBackend backend() {
        return backend;
    }
}
