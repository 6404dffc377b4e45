package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.FastExp;
import dev.kvslim.core.tensor.Kernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Keys and values kept as the floats the forward pass computed. */
final class F32Blocks extends KvBlocks {

    private static final int LANES = Kernels.lanes();
    private static final VectorSpecies<Float> F = Kernels.species();

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
    void scores4(int id, int n, float[] q, int[] qOffs, float scale, float[] out, int outOff) {
        float[] block = storage[id];
        int q0 = qOffs[0], q1 = qOffs[1], q2 = qOffs[2], q3 = qOffs[3];
        for (int j = 0; j < n; j += LANES) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int c = 0; c < headSize; c++) {
                FloatVector k = FloatVector.fromArray(F, block, c * blockSize + j);
                a0 = k.fma(FloatVector.broadcast(F, q[q0 + c]), a0);
                a1 = k.fma(FloatVector.broadcast(F, q[q1 + c]), a1);
                a2 = k.fma(FloatVector.broadcast(F, q[q2 + c]), a2);
                a3 = k.fma(FloatVector.broadcast(F, q[q3 + c]), a3);
            }
            a0.mul(scale).intoArray(out, outOff + j);
            a1.mul(scale).intoArray(out, outOff + blockSize + j);
            a2.mul(scale).intoArray(out, outOff + 2 * blockSize + j);
            a3.mul(scale).intoArray(out, outOff + 3 * blockSize + j);
        }
    }

    @Override
    void accumulate4(int id, int n, float[] scores, int off, float[] max, float[] sums, float[] out, int[] outOffs) {
        float[] block = storage[id];
        for (int r = 0; r < ROWS; r++) {
            sums[r] = FastExp.expShiftSum(scores, off + r * blockSize, n, max[r]);
        }
        int o0 = outOffs[0], o1 = outOffs[1], o2 = outOffs[2], o3 = outOffs[3];
        int r1 = off + blockSize, r2 = off + 2 * blockSize, r3 = off + 3 * blockSize;
        int bound = F.loopBound(headSize);
        // a vector of channels at a time, the four rows' sums kept in registers over the block's slots
        int c = 0;
        for (; c < bound; c += LANES) {
            FloatVector a0 = FloatVector.fromArray(F, out, o0 + c), a1 = FloatVector.fromArray(F, out, o1 + c);
            FloatVector a2 = FloatVector.fromArray(F, out, o2 + c), a3 = FloatVector.fromArray(F, out, o3 + c);
            for (int j = 0, at = values; j < n; j++, at += headSize) {
                FloatVector v = FloatVector.fromArray(F, block, at + c);
                a0 = v.fma(FloatVector.broadcast(F, scores[off + j]), a0);
                a1 = v.fma(FloatVector.broadcast(F, scores[r1 + j]), a1);
                a2 = v.fma(FloatVector.broadcast(F, scores[r2 + j]), a2);
                a3 = v.fma(FloatVector.broadcast(F, scores[r3 + j]), a3);
            }
            // a row left out (max +Infinity: weights all 0) may repeat another's output: it must not write
            if (max[0] != Float.POSITIVE_INFINITY) {
                a0.intoArray(out, o0 + c);
            }
            if (max[1] != Float.POSITIVE_INFINITY) {
                a1.intoArray(out, o1 + c);
            }
            if (max[2] != Float.POSITIVE_INFINITY) {
                a2.intoArray(out, o2 + c);
            }
            if (max[3] != Float.POSITIVE_INFINITY) {
                a3.intoArray(out, o3 + c);
            }
        }
        for (; c < headSize; c++) {
            for (int j = 0, at = values; j < n; j++, at += headSize) {
                float v = block[at + c];
                out[o0 + c] += scores[off + j] * v;
                out[o1 + c] += scores[r1 + j] * v;
                out[o2 + c] += scores[r2 + j] * v;
                out[o3 + c] += scores[r3 + j] * v;
            }
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
