package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.HalfFloats;
import dev.kvslim.core.tensor.Kernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Keys and values as bfloat16: rounding to nearest, ties to even, as PyTorch's {@code .to(torch.bfloat16)}
 * ({@link HalfFloats#toBf16}).
 * Scores and value sums widen a vector of elements at a time and compute in float.
 */
final class Bf16Blocks extends ShortBlocks {

    private static final VectorSpecies<Float> F = Kernels.species();
    private static final VectorSpecies<Short> S = HalfFloats.SHORTS;

    Bf16Blocks(int headSize, int blockSize, int maxBlocks) {
        super(headSize, blockSize, maxBlocks);
    }

    @Override
    short round(float f) {
        return HalfFloats.toBf16(f);
    }

    @Override
    float widen(short bits) {
        return HalfFloats.bf16ToFloat(bits);
    }

    @Override
    void scores(int id, int n, float[] q, int qOff, float scale, float[] out, int outOff) {
        short[] block = storage[id];
        for (int j = 0; j < n; j += F.length()) {
            FloatVector acc = FloatVector.zero(F);
            for (int c = 0; c < headSize; c++) {
                acc = HalfFloats.widenBf16(ShortVector.fromArray(S, block, c * blockSize + j))
                        .fma(FloatVector.broadcast(F, q[qOff + c]), acc);
            }
            acc.mul(scale).intoArray(out, outOff + j);
        }
    }

    @Override
    void accumulate(int id, int n, float[] weights, float[] out, int outOff) {
        short[] block = storage[id];
        int bound = F.loopBound(headSize);
        for (int j = 0; j < n; j++) {
            float w = weights[j];
            if (w == Float.NEGATIVE_INFINITY) {
                continue;
            }
            int at = values + j * headSize;
            FloatVector a = FloatVector.broadcast(F, w);
            int c = 0;
            for (; c < bound; c += F.length()) {
                HalfFloats.widenBf16(ShortVector.fromArray(S, block, at + c))
                        .fma(a, FloatVector.fromArray(F, out, outOff + c)).intoArray(out, outOff + c);
            }
            for (; c < headSize; c++) {
                out[outOff + c] += w * widen(block[at + c]);
            }
        }
    }
}
