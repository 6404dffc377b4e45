package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.HalfFloats;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

/**
 * Keys and values as IEEE half floats: rounding to nearest, ties to even ({@link Float#floatToFloat16}); values
 * beyond ±65504 are stored as ±inf, which attention reads as ±65536 (see {@link HalfFloats#widenF16}).
 */
final class F16Blocks extends ShortBlocks {

    F16Blocks(int headSize, int blockSize, int maxBlocks) {
        super(headSize, blockSize, maxBlocks);
    }

    @Override
    short round(float f) {
        return HalfFloats.toF16(f);
    }

    @Override
    float widen(short bits) {
        return Float.float16ToFloat(bits);
    }

    @Override
    FloatVector widen(ShortVector bits) {
        return HalfFloats.widenF16(bits);
    }
}
