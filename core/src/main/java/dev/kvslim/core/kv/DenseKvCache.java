package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.Kernels;

/**
 * The uncompressed cache: per layer one float array for keys and one for values; every earlier position is
 * visible to every query (within the model's sliding window, if it has one). Values are stored by position, like llama2.c's {@code pos * kv_dim}. Keys are stored
 * in tiles of one vector's worth of positions, channel-major within a tile
 * ({@code [pos / T][kv head][channel][pos % T]}), so the scores of T positions are T-lane multiply-adds with
 * no horizontal sums.
 */
public final class DenseKvCache implements KvCache {

    private static final int T = Kernels.lanes();

    private final int layers;
    private final int kvDim;
    private final int headSize;
    private final int capacity;
    private final float scale;
    private final int window;
    private final float[][] keys;
    private final float[][] values;
    private int length;

    public DenseKvCache(KvShape shape, int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("cache capacity must be positive, got " + capacity);
        }
        long perLayer = (long) tiles(capacity) * T * shape.kvDim();
        if (perLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("dense cache of " + capacity + " positions x " + shape.kvDim()
                    + " floats per layer exceeds 2^31 values");
        }
        this.layers = shape.layers();
        this.kvDim = shape.kvDim();
        this.headSize = shape.headSize();
        this.capacity = capacity;
        this.scale = (float) (1.0 / Math.sqrt(headSize));
        this.window = shape.slidingWindow();
        this.keys = new float[layers][(int) perLayer];
        this.values = new float[layers][(int) perLayer];
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public void store(int layer, int position, int count, float[] k, float[] v, float[] decisions, int row) {
        for (int t = 0; t < count; t++) {
            storeOne(layer, position + t, k, (row + t) * kvDim, v, (row + t) * kvDim);
        }
    }

    private void storeOne(int layer, int position, float[] k, int kOff, float[] v, int vOff) {
        if (position < 0 || position >= capacity) {
            throw new IndexOutOfBoundsException("position " + position + " outside the cache capacity " + capacity);
        }
        float[] kl = keys[layer];
        int tile = position / T * T * kvDim + position % T;
        for (int c = 0; c < kvDim; c++) {
            kl[tile + c * T] = k[kOff + c];
        }
        System.arraycopy(v, vOff, values[layer], position * kvDim, kvDim);
        if (layer == layers - 1) {
            length = Math.max(length, position + 1);
        }
    }

    @Override
    public void attend(
            int layer,
            int position,
            int kvHead,
            float[] q,
            int qOff,
            int group,
            float[] out,
            int outOff,
            float[] scratch) {
        int g = 0;
        for (; g + 2 <= group; g += 2) {
            attendHeads(layer, position, kvHead, q, qOff + g * headSize, true, out, outOff + g * headSize, scratch);
        }
        if (g < group) {
            attendHeads(layer, position, kvHead, q, qOff + g * headSize, false, out, outOff + g * headSize, scratch);
        }
    }

    /**
     * One query head's attention ({@code q[qOff ..]}), or two heads' ({@code two}: that head and the next) with
     * every key and value read once for both; each head's scores and sums in the same order either way. The second
     * head's scores take the scratch's second half.
     */
    private void attendHeads(
            int layer,
            int position,
            int kvHead,
            float[] q,
            int qOff,
            boolean two,
            float[] out,
            int outOff,
            float[] scratch) {
        float[] k = keys[layer];
        float[] v = values[layer];
        int head = kvHead * headSize;
        int first = window > 0 ? Math.max(0, position - window + 1) : 0;
        int from = first / T;
        int tileStride = T * kvDim;
        int kOff = from * tileStride + head * T;
        int tiles = tiles(position + 1) - from;
        int visible = position - first + 1;
        int second = tiles(capacity) * T;
        if (two) {
            Kernels.scoreTiles2(
                    q,
                    qOff,
                    qOff + headSize,
                    headSize,
                    k,
                    kOff,
                    tileStride,
                    tiles,
                    T,
                    scale,
                    scratch,
                    from * T,
                    second + from * T);
            Kernels.softmax(scratch, first, visible);
            Kernels.softmax(scratch, second + first, visible);
            Kernels.weightedSum2(
                    scratch, 0, second, first, position + 1, v, head, kvDim, out, outOff, outOff + headSize, headSize);
        } else {
            Kernels.scoreTiles(q, qOff, headSize, k, kOff, tileStride, tiles, T, scale, scratch, from * T);
            Kernels.softmax(scratch, first, visible);
            Kernels.weightedSum(scratch, first, position + 1, v, head, kvDim, out, outOff, headSize);
        }
    }

    @Override
    public int scratchSize() {
        return 2 * tiles(capacity) * T; // two heads' scores
    }

    private static int tiles(int positions) {
        return (positions + T - 1) / T;
    }

    @Override
    public void truncate(int newLength) {
        length = Math.min(length, Math.max(0, newLength));
    }

    /** Positions stored so far. */
    public int length() {
        return length;
    }

    @Override
    public long bytesUsed() {
        return 2L * layers * length * kvDim * Float.BYTES;
    }
}
