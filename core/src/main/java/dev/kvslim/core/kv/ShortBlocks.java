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
