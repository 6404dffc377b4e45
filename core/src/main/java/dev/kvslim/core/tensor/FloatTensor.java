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
     * product per row ({@link #dotRows}), and so is each token of a batch of up to {@link #SMALL_BATCH}; a larger
     * batch goes to oneDNN where the scratch's backend says so ({@link MatmulBackend}), else it is transposed once,
     * and blocks of {@value #ROW_BLOCK} rows are expanded to floats and multiplied against all tokens by the
     * cache-blocked {@link Gemm}, so each weight is read from memory once per call and every output is one
     * sequential sum over the row, whatever the thread count.
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
        if (tokens <= SMALL_BATCH) {
            smallBatch(x, tokens, out, scratch);
            return;
        }
        if (scratch.batchHalves.length > 0 && tokens >= NATIVE_MIN_TOKENS) {
            nativeMatmul(x, tokens, out, scratch);
            return;
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

    /**
     * {@link #matmul} of several matrices by the same input: {@code outs[i] = ts[i] x}. For one token all their rows
     * are one parallel loop (a decode step hands work to the threads once for, say, the query, key and value
     * matrices instead of three times), each row summed exactly as {@link #dot} sums it; a batch goes matrix by
     * matrix.
     */
    public static void matmulEach(FloatTensor[] ts, float[] x, int tokens, float[][] outs, MatmulScratch scratch) {
        if (tokens != 1) {
            for (int i = 0; i < ts.length; i++) {
                ts[i].matmul(x, tokens, outs[i], scratch);
            }
            return;
        }
        long total = 0;
        for (FloatTensor t : ts) {
            if (t.cols != ts[0].cols) {
                throw new IllegalArgumentException("matmulEach needs one row width, got " + ts[0] + " and " + t);
            }
            total += t.rows;
        }
        if (total > Integer.MAX_VALUE) {
            throw new IllegalStateException("matmul output over 2^31 rows: " + total);
        }
        Parallel.forRange((int) total, Parallel.grain(ts[0].cols), (w, start, end) -> {
            int base = 0;
            for (int i = 0; i < ts.length && base < end; i++) {
                int rows = (int) ts[i].rows;
                int from = Math.max(start, base), to = Math.min(end, base + rows);
                if (from < to) {
                    ts[i].dotRows(from - base, to - base, x, outs[i]);
                }
                base += rows;
            }
        });
    }

    /** Weight rows expanded to floats at a time by a batched {@link #matmul}. */
    public static final int ROW_BLOCK = 64;

    /**
     * Batches of up to this many tokens run the one-token kernels token by token over a few rows at a time (the rows
     * stay in the core's caches for the next token): every output exactly what the token would get alone, and much
     * faster than expanding the whole matrix for a GEMM (on the 1B Q4_K_M file, two tokens took 1.05 s through the
     * Java GEMM and 0.3 s through oneDNN, against 0.11 s for one decode step).
     */
    public static final int SMALL_BATCH = 4;

    /** Rows a worker takes through all tokens of a {@linkplain #SMALL_BATCH small batch} before the next rows. */
    private static final int SMALL_BATCH_ROWS = 64;

    /** Batches from this many tokens go to the native backend, where there is one ({@link MatmulBackend}). */
    public static final int NATIVE_MIN_TOKENS = SMALL_BATCH + 1;

    /**
     * {@link #matmul} of a {@linkplain #SMALL_BATCH small batch}: each token's input is copied once to a buffer of
     * its own (the kernels read their input from offset 0) and {@linkplain #prepare prepared} once, then each worker takes its rows {@value
     * #SMALL_BATCH_ROWS} at a time through {@link #dotRowsPrepared} for every token, its outputs copied out, so each row's
     * sum is the one a batch of one computes.
     */
    private void smallBatch(float[] x, int tokens, float[] out, MatmulScratch scratch) {
        int m = (int) rows;
        for (int t = 0; t < tokens; t++) {
            System.arraycopy(x, t * cols, scratch.smallInput[t], 0, cols);
        }
        float[][] prepared = new float[tokens][];
        for (int t = 0; t < tokens; t++) {
            prepared[t] = prepare(scratch.smallInput[t]);
        }
        Parallel.forRange(m, Parallel.grain((long) cols * tokens), (w, start, end) -> {
            float[] o = scratch.smallOutput(w, m);
            for (int r0 = start; r0 < end; r0 += SMALL_BATCH_ROWS) {
                int r1 = Math.min(end, r0 + SMALL_BATCH_ROWS);
                for (int t = 0; t < tokens; t++) {
                    dotRowsPrepared(r0, r1, prepared[t], o);
                    System.arraycopy(o, r0, out, t * m + r0, r1 - r0);
                }
            }
        });
    }

    /** Weight values expanded at a time for the native backend (4 MiB of floats): a chunk of whole rows. */
    static final int NATIVE_CHUNK_VALUES = 1 << 20;

    /** Rows of {@code cols} values expanded at a time for the native backend: a multiple of 16, at least 16. */
    static int nativeChunkRows(int cols) {
        return Math.max(16, NATIVE_CHUNK_VALUES / cols / 16 * 16);
    }

    /** Values a chunk of expanded rows can take for rows of up to {@code maxCols} values. */
    static int nativeChunkValues(int maxCols) {
        return Math.max(NATIVE_CHUNK_VALUES, 16 * maxCols);
    }

    /**
     * Whether the native backend multiplies this matrix in bfloat16 (the batch rounded to bfloat16, the weights
     * expanded to it, sums in floats: the quantised types, whose 4 to 8 bits bfloat16's 8 hold exactly or nearly)
     * or in floats (F32 and F16, whose 11 bits it would not).
     */
    protected boolean nativeInBf16() {
        return true;
    }

    /**
     * The stored weights when they already are what the native backend reads (floats, or bfloat16 if
     * {@code bf16}), row-major; {@code null} when rows must be expanded first.
     */
    protected MemorySegment nativeWeights(boolean bf16) {
        return null;
    }

    /**
     * {@link #matmul} by oneDNN: the batch in bfloat16 if this type is multiplied so, then the weights as stored
     * or expanded a chunk of rows at a time (by all workers) and multiplied by one native call per chunk.
     */
    private void nativeMatmul(float[] x, int tokens, float[] out, MatmulScratch scratch) {
        int m = (int) rows;
        boolean bf16 = nativeInBf16();
        if (bf16) {
            int n = tokens * cols;
            Parallel.forRange(
                    n / 16,
                    Parallel.grain(16),
                    (w, start, end) ->
                            HalfFloats.toBf16(x, start * 16, scratch.batchHalves, start * 16, (end - start) * 16));
            HalfFloats.toBf16(x, n / 16 * 16, scratch.batchHalves, n / 16 * 16, n % 16);
        }
        MemorySegment stored = nativeWeights(bf16);
        if (stored != null) {
            gemm(bf16, tokens, m, x, stored, scratch, out, 0, m);
            return;
        }
        int chunk = Math.min(m, nativeChunkRows(cols));
        for (int r0 = 0; r0 < m; r0 += chunk) {
            int n = Math.min(chunk, m - r0);
            int first = r0;
            Parallel.forRange(n, Parallel.grain(cols), (w, start, end) -> {
                for (int i = start; i < end; i++) {
                    if (bf16) {
                        float[] row = scratch.rows[w];
                        dequantizeRow(first + i, row, 0);
                        HalfFloats.toBf16(row, 0, scratch.nativeHalves, i * cols, cols);
                    } else {
                        dequantizeRow(first + i, scratch.nativeFloats, i * cols);
                    }
                }
            });
            MemorySegment expanded = bf16
                    ? MemorySegment.ofArray(scratch.nativeHalves).asSlice(0, (long) n * cols * 2)
                    : MemorySegment.ofArray(scratch.nativeFloats).asSlice(0, (long) n * cols * 4);
            gemm(bf16, tokens, n, x, expanded, scratch, out, r0, m);
        }
    }

    private void gemm(
            boolean bf16,
            int tokens,
            int n,
            float[] x,
            MemorySegment w,
            MatmulScratch s,
            float[] out,
            int off,
            int ld) {
        if (bf16) {
            OneDnn.gemmBf16(tokens, n, cols, s.batchHalves, w, out, off, ld);
        } else {
            OneDnn.sgemm(tokens, n, cols, x, w, out, off, ld);
        }
    }

    /**
     * {@code out[r] = dot(r, x, 0)} for each row r in {@code [from, to)}: a decode step's matrix-vector product
     * (through {@link #dotPrepared}, the input prepared once, where this type {@linkplain #prepares prepares} it).
     * A format overrides it where reading several rows in one pass pays (the JIT compiles one {@link #dot} per call
     * best: a loop calling it for four rows at a time ran at half the speed).
     */
    protected void dotRows(int from, int to, float[] x, float[] out) {
        if (prepares()) {
            dotRowsPrepared(from, to, prepareInput(x, 0), out);
            return;
        }
        for (int r = from; r < to; r++) {
            out[r] = dot(r, x, 0);
        }
    }

    /**
     * Whether this tensor's one-token products run a kernel over a prepared input ({@link #prepareInput},
     * {@link #dotPrepared}): the 16-lane kernels that take x rounded to 8-bit codes ({@link Int8Input}) or
     * rearranged, in the order the weight codes come in, with its block sums and scales. A type that does overrides the three and calls {@link #dotPrepared} from
     * its {@link #dot}; {@link #dotRows} and a {@linkplain #SMALL_BATCH small batch} ({@link #prepare},
     * {@link #dotRowsPrepared}) then prepare each token once.
     */
    protected boolean prepares() {
        return false;
    }

    /** {@code x[xOff ..]} (one row's worth) in the form {@link #dotPrepared} reads, where {@link #prepares}. */
    protected float[] prepareInput(float[] x, int xOff) {
        throw new UnsupportedOperationException(type() + " does not prepare its input");
    }

    /** Row {@code row} dotted with an input {@link #prepareInput} made, where {@link #prepares}. */
    protected float dotPrepared(long row, float[] prepared) {
        throw new UnsupportedOperationException(type() + " does not prepare its input");
    }

    /** A one-token input in the form {@link #dotRowsPrepared} reads it: {@code x} itself unless {@link #prepares}. */
    protected final float[] prepare(float[] x) {
        return prepares() ? prepareInput(x, 0) : x;
    }

    /** {@link #dotRows} over an input {@link #prepare}d once: the same sums. */
    protected final void dotRowsPrepared(int from, int to, float[] prepared, float[] out) {
        if (!prepares()) {
            dotRows(from, to, prepared, out);
            return;
        }
        for (int r = from; r < to; r++) {
            out[r] = dotPrepared(r, prepared);
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
