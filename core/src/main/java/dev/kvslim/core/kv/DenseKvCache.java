package dev.kvslim.core.kv;

import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.tensor.Kernels;

/**
 * The uncompressed cache: per layer one {@code capacity x kvDim} float array for keys and one for values,
 * addressed like llama2.c's {@code layer * seq_len * kv_dim + pos * kv_dim}. Every earlier position is
 * visible to every query.
 */
public final class DenseKvCache implements KvCache {

    private final int layers;
    private final int kvDim;
    private final int headSize;
    private final int capacity;
    private final float scale;
    private final float[][] keys;
    private final float[][] values;
    private int length;

    public DenseKvCache(LlamaConfig config, int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("cache capacity must be positive, got " + capacity);
        }
        long perLayer = (long) capacity * config.kvDim();
        if (perLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("dense cache of " + capacity + " positions x " + config.kvDim()
                    + " floats per layer exceeds 2^31 values");
        }
        this.layers = config.layers();
        this.kvDim = config.kvDim();
        this.headSize = config.headSize();
        this.capacity = capacity;
        this.scale = (float) (1.0 / Math.sqrt(headSize));
        this.keys = new float[layers][(int) perLayer];
        this.values = new float[layers][(int) perLayer];
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public void store(int layer, int position, float[] k, int kOff, float[] v, int vOff) {
        if (position < 0 || position >= capacity) {
            throw new IndexOutOfBoundsException("position " + position + " outside the cache capacity " + capacity);
        }
        System.arraycopy(k, kOff, keys[layer], position * kvDim, kvDim);
        System.arraycopy(v, vOff, values[layer], position * kvDim, kvDim);
        if (layer == layers - 1) {
            length = Math.max(length, position + 1);
        }
    }

    @Override
    public void attend(int layer, int position, int kvHead, float[] q, int qOff, float[] out, int outOff, float[] scratch) {
        float[] k = keys[layer];
        float[] v = values[layer];
        int head = kvHead * headSize;
        for (int p = 0; p <= position; p++) {
            scratch[p] = Kernels.dot(q, qOff, k, p * kvDim + head, headSize) * scale;
        }
        Kernels.softmax(scratch, 0, position + 1);
        java.util.Arrays.fill(out, outOff, outOff + headSize, 0f);
        for (int p = 0; p <= position; p++) {
            Kernels.axpy(scratch[p], v, p * kvDim + head, out, outOff, headSize);
        }
    }

    @Override
    public int scratchSize() {
        return capacity;
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
