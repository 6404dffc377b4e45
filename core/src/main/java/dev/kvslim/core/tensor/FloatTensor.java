package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A read-only 2-D weight matrix of {@code rows x cols} values (a vector is one row), stored in some format.
 * Each storage format is one small subclass owning its element access and its vectorised dot product; the
 * matrix products here are written once, on top of those.
 * <p>Rows are contiguous: element (r, c) is element {@code r * cols + c} of the flat tensor.
 */
public abstract class FloatTensor {

    protected final long rows;
    protected final int cols;

    protected FloatTensor(long rows, int cols) {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("tensor shape must be positive, got " + rows + " x " + cols);
        }
        this.rows = rows;
        this.cols = cols;
    }

    public abstract GgmlType type();

    /**
     * The bytes of this tensor in its file layout (little-endian): a slice of a mapped file or off-heap memory for
     * F32, a view of the heap array the other types copy their weights into (for F16/BF16 a {@code short[]}, whose
     * bytes are in the platform's order: little-endian on the x86-64 and AArch64 machines KVSlim runs on).
     */
    public abstract MemorySegment segment();

    /** Bytes the weights take in memory: what a full pass over the matrix reads. */
    public long byteSize() {
        return segment().byteSize();
    }

    /** Name of the storage format, for reports. */
    public String format() {
        return type().name();
    }

    /** Element {@code index} of the flat tensor. */
    public abstract float get(long index);

    /** Dot product of row {@code row} with {@code x[xOff .. xOff + cols)}. */
    public abstract float dot(long row, float[] x, int xOff);

    /** Writes row {@code row} as floats into {@code out[off .. off + cols)}. */
    public void dequantizeRow(long row, float[] out, int off) {
        long base = row * cols;
        for (int c = 0; c < cols; c++) {
            out[off + c] = get(base + c);
        }
    }

    /** Row {@code row} dotted with {@code x} one element at a time: the fallback where vectors do not fit a format. */
    protected final float dotByElement(long row, float[] x, int xOff) {
        long base = row * cols;
        float sum = 0f;
        for (int c = 0; c < cols; c++) {
            sum += get(base + c) * x[xOff + c];
        }
        return sum;
    }

    public final long rows() {
        return rows;
    }

    public final int cols() {
        return cols;
    }

    public final long size() {
        return rows * cols;
    }

    /** Copies row {@code row} into {@code out[off ..)}: an embedding lookup. */
    public final void copyRow(long row, float[] out, int off) {
        checkRow(row);
        dequantizeRow(row, out, off);
    }

    /**
     * Matrix-vector product over a batch of tokens: for each token t in {@code [0, tokens)},
     * {@code out[t*rows + r] = row r . x[t*cols ..]}. Rows are split across threads. A batch of one is a dot
     * product per row ({@link #dotRows}); a larger batch is transposed once, and blocks of
     * {@value #ROW_BLOCK} rows are expanded to floats and multiplied against all tokens by the cache-blocked
     * {@link Gemm}, so each weight is read from memory once per call and every output is one sequential sum over
     * the row, whatever the thread count.
     */
    public final void matmul(float[] x, int tokens, float[] out, MatmulScratch scratch) {
        if (rows > Integer.MAX_VALUE) {
            throw new IllegalStateException("matmul output over 2^31 rows: " + rows);
        }
        int m = (int) rows;
        if (tokens == 1) {
            Parallel.forRange(m, Parallel.grain(cols), (w, start, end) -> dotRows(start, end, x, out));
            return;
        }
        if (cols > scratch.maxCols || tokens > scratch.maxTokens) {
            throw new IllegalArgumentException("matmul scratch sized for " + scratch.maxCols + " x " + scratch.maxTokens
                    + ", asked for " + cols + " x " + tokens);
        }
        int padded = Kernels.paddedTokens(tokens);
        Kernels.transpose(x, tokens, cols, scratch.transposed, padded);
        int blocks = (m + ROW_BLOCK - 1) / ROW_BLOCK;
        Parallel.forRange(blocks, Parallel.grain((long) ROW_BLOCK * cols * tokens), (w, start, end) -> {
            float[] block = scratch.rows[w];
            float[] tile = scratch.tiles[w];
            for (int b = start; b < end; b++) {
                int r0 = b * ROW_BLOCK;
                int n = Math.min(ROW_BLOCK, m - r0);
                for (int i = 0; i < n; i++) {
                    dequantizeRow(r0 + i, block, i * cols);
                }
                Gemm.serial(n, padded, cols, block, 0, cols, 1, scratch.transposed, 0, padded, tile, 0, padded, false);
                // token by token: contiguous writes, and the tile's few columns stay in the L1 cache
                for (int t = 0; t < tokens; t++) {
                    int o = t * m + r0;
                    for (int i = 0; i < n; i++) {
                        out[o + i] = tile[i * padded + t];
                    }
                }
            }
        });
    }

    /** Weight rows expanded to floats at a time by a batched {@link #matmul}. */
    public static final int ROW_BLOCK = 64;

    /**
     * {@code out[r] = dot(r, x, 0)} for each row r in {@code [from, to)}: a decode step's matrix-vector product.
     * A format overrides it where reading several rows in one pass pays (the JIT compiles one {@link #dot} per call
     * best: a loop calling it for four rows at a time ran at half the speed).
     */
    protected void dotRows(int from, int to, float[] x, float[] out) {
        for (int r = from; r < to; r++) {
            out[r] = dot(r, x, 0);
        }
    }

    protected final void checkRow(long row) {
        if (row < 0 || row >= rows) {
            throw new IndexOutOfBoundsException("row " + row + " outside [0, " + rows + ")");
        }
    }

    @Override
    public String toString() {
        return type() + "[" + rows + " x " + cols + "]";
    }
}
