package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.FastExp;
import dev.kvslim.core.tensor.HalfFloats;
import dev.kvslim.core.tensor.Kernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Keys and values rounded to a 16-bit float format, two bytes an element. The subclasses own the format: rounding a
 * float, widening one back and widening a vector of them; the loops over a block, the same for both formats, are
 * here. Scores and value sums widen a vector of elements at a time and compute in float.
 */
abstract sealed class ShortBlocks extends KvBlocks permits F16Blocks, Bf16Blocks {

    private static final VectorSpecies<Float> F = Kernels.species();
    private static final VectorSpecies<Short> S = HalfFloats.SHORTS;

    final short[][] storage;

    ShortBlocks(int headSize, int blockSize, int maxBlocks) {
        super(headSize, blockSize);
        this.storage = new short[maxBlocks][];
    }

    /** {@code f} rounded to the format. */
    abstract short round(float f);

    /** The float a stored element holds. */
    abstract float widen(short bits);

    /** The floats a vector of stored elements holds. */
    abstract FloatVector widen(ShortVector bits);

    @Override
    final void create(int id) {
        storage[id] = new short[2 * values];
    }

    @Override
    final void store(int id, int slot, float[] k, int kOff, float[] v, int vOff) {
        short[] block = storage[id];
        for (int c = 0; c < headSize; c++) {
            block[c * blockSize + slot] = round(k[kOff + c]);
        }
        int at = values + slot * headSize;
        for (int c = 0; c < headSize; c++) {
            block[at + c] = round(v[vOff + c]);
        }
    }

    @Override
    final void copy(int fromId, int toId) {
        System.arraycopy(storage[fromId], 0, storage[toId], 0, storage[fromId].length);
    }

    @Override
    final void move(int fromId, int slot, int toId, int toSlot) {
        short[] src = storage[fromId], dst = storage[toId];
        for (int c = 0; c < headSize; c++) {
            dst[c * blockSize + toSlot] = src[c * blockSize + slot];
        }
        System.arraycopy(src, values + slot * headSize, dst, values + toSlot * headSize, headSize);
    }

    @Override
    final float key(int id, int slot, int c) {
        return widen(storage[id][c * blockSize + slot]);
    }

    @Override
    final float value(int id, int slot, int c) {
        return widen(storage[id][values + slot * headSize + c]);
    }

    @Override
    final void scores(int id, int n, float[] q, int qOff, float scale, float[] out, int outOff) {
        short[] block = storage[id];
        for (int j = 0; j < n; j += F.length()) {
            FloatVector acc = FloatVector.zero(F);
            for (int c = 0; c < headSize; c++) {
                acc = widen(ShortVector.fromArray(S, block, c * blockSize + j))
                        .fma(FloatVector.broadcast(F, q[qOff + c]), acc);
            }
            acc.mul(scale).intoArray(out, outOff + j);
        }
    }

    @Override
    final void scores4(int id, int n, float[] q, int[] qOffs, float scale, float[] out, int outOff) {
        short[] block = storage[id];
        int q0 = qOffs[0], q1 = qOffs[1], q2 = qOffs[2], q3 = qOffs[3];
        for (int j = 0; j < n; j += F.length()) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int c = 0; c < headSize; c++) {
                FloatVector k = widen(ShortVector.fromArray(S, block, c * blockSize + j));
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
    final void accumulate4(
            int id, int n, float[] scores, int off, float[] max, float[] sums, float[] out, int[] outOffs) {
        short[] block = storage[id];
        for (int r = 0; r < ROWS; r++) {
            sums[r] = FastExp.expShiftSum(scores, off + r * blockSize, n, max[r]);
        }
        int o0 = outOffs[0], o1 = outOffs[1], o2 = outOffs[2], o3 = outOffs[3];
        int r1 = off + blockSize, r2 = off + 2 * blockSize, r3 = off + 3 * blockSize;
        int bound = F.loopBound(headSize);
        // a vector of channels at a time, the four rows' sums kept in registers over the block's slots
        int c = 0;
        for (; c < bound; c += F.length()) {
            FloatVector a0 = FloatVector.fromArray(F, out, o0 + c), a1 = FloatVector.fromArray(F, out, o1 + c);
            FloatVector a2 = FloatVector.fromArray(F, out, o2 + c), a3 = FloatVector.fromArray(F, out, o3 + c);
            for (int j = 0, at = values; j < n; j++, at += headSize) {
                FloatVector v = widen(ShortVector.fromArray(S, block, at + c));
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
                float v = widen(block[at + c]);
                out[o0 + c] += scores[off + j] * v;
                out[o1 + c] += scores[r1 + j] * v;
                out[o2 + c] += scores[r2 + j] * v;
                out[o3 + c] += scores[r3 + j] * v;
            }
        }
    }

    @Override
    final float accumulate(int id, int n, float[] scores, float max, float[] out, int outOff) {
        short[] block = storage[id];
        int bound = F.loopBound(headSize);
        float sum = FastExp.expShiftSum(scores, 0, n, max); // masked slots (-inf) weigh 0
        for (int j = 0; j < n; j++) {
            float e = scores[j];
            if (e == 0f) {
                continue;
            }
            int at = values + j * headSize;
            FloatVector a = FloatVector.broadcast(F, e);
            int c = 0;
            for (; c < bound; c += F.length()) {
                widen(ShortVector.fromArray(S, block, at + c))
                        .fma(a, FloatVector.fromArray(F, out, outOff + c))
                        .intoArray(out, outOff + c);
            }
            for (; c < headSize; c++) {
                out[outOff + c] += e * widen(block[at + c]);
            }
        }
        return sum;
    }
}
