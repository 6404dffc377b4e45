package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.FastExp;
import dev.kvslim.core.tensor.Kernels;

/** Keys and values kept as the floats the forward pass computed. */
final class F32Blocks extends KvBlocks {

    private static final int LANES = Kernels.lanes();

    private final float[][] storage;

    F32Blocks(int headSize, int blockSize, int maxBlocks) {
        super(headSize, blockSize);
        this.storage = new float[maxBlocks][];
    }

    @Override
    void create(int id) {
        storage[id] = new float[2 * values];
    }

    @Override
    void store(int id, int slot, float[] k, int kOff, float[] v, int vOff) {
        float[] block = storage[id];
        for (int c = 0; c < headSize; c++) {
            block[c * blockSize + slot] = k[kOff + c];
        }
        System.arraycopy(v, vOff, block, values + slot * headSize, headSize);
    }

    @Override
    void copy(int fromId, int toId) {
        System.arraycopy(storage[fromId], 0, storage[toId], 0, storage[fromId].length);
    }

    @Override
    void move(int fromId, int slot, int toId, int toSlot) {
        float[] src = storage[fromId], dst = storage[toId];
        for (int c = 0; c < headSize; c++) {
            dst[c * blockSize + toSlot] = src[c * blockSize + slot];
        }
        System.arraycopy(src, values + slot * headSize, dst, values + toSlot * headSize, headSize);
    }

    @Override
    float key(int id, int slot, int c) {
        return storage[id][c * blockSize + slot];
    }

    @Override
    float value(int id, int slot, int c) {
        return storage[id][values + slot * headSize + c];
    }

    @Override
    void scores(int id, int n, float[] q, int qOff, float scale, float[] out, int outOff) {
        float[] block = storage[id];
        for (int j = 0; j < n; j += LANES) {
            Kernels.scoreTile(q, qOff, headSize, block, j, blockSize, scale, out, outOff + j);
        }
    }

    @Override
    float accumulate(int id, int n, float[] scores, float max, float[] out, int outOff) {
        float[] block = storage[id];
        float sum = FastExp.expShiftSum(scores, 0, n, max); // masked slots (-inf) weigh 0
        for (int j = 0; j < n; j++) {
            if (scores[j] != 0f) {
                Kernels.axpy(scores[j], block, values + j * headSize, out, outOff, headSize);
            }
        }
        return sum;
    }
}
