package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.HalfFloats;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

/**
 * Keys and values as bfloat16: rounding to nearest, ties to even, as PyTorch's {@code .to(torch.bfloat16)}
 * ({@link HalfFloats#toBf16}).
 */
final class Bf16Blocks extends ShortBlocks {

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
    FloatVector widen(ShortVector bits) {
        return HalfFloats.widenBf16(bits);
    }
}
