package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.Quantizer;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

/**
 * Keys and values as GGML Q8_0: a signed byte a channel, times its group's scale. Key code of channel {@code c} in
 * {@code slot} at {@code c * blockSize + slot}; value codes slot-major after them.
 */
final class Q8Blocks extends QuantBlocks {

    /** Whether the vector loops cover this shape: a tile of bytes widens to one float vector, groups whole vectors. */
    private final boolean vectors;

    Q8Blocks(int headSize, int blockSize, int maxBlocks) {
        super(headSize, blockSize, maxBlocks, headSize);
        this.vectors = B != null && group % F.length() == 0;
    }

    @Override
    float quantise(float[] x, int off, byte[] out) {
        return Quantizer.q8Codes(x, off, group, out, 0);
    }

    @Override
    void put(byte[] block, int slot, int g, byte[] groupCodes, boolean key) {
        if (key) {
            for (int i = 0; i < group; i++) {
                block[(g * group + i) * blockSize + slot] = groupCodes[i];
            }
        } else {
            System.arraycopy(groupCodes, 0, block, valueCodes + slot * headSize + g * group, group);
        }
    }

    @Override
    int code(byte[] block, int slot, int c, boolean key) {
        return key ? block[c * blockSize + slot] : block[valueCodes + slot * headSize + c];
    }

    @Override
    FloatVector groupDot(byte[] block, int g, int j, float[] q, int qOff) {
        FloatVector ag = FloatVector.zero(F);
        for (int c = g * group; c < (g + 1) * group; c++) {
            ag = widen(ByteVector.fromArray(B, block, c * blockSize + j))
                    .fma(FloatVector.broadcast(F, q[qOff + c]), ag);
        }
        return ag;
    }

    @Override
    void addGroup(byte[] block, int slot, int g, float w, float[] out, int outOff) {
        if (!vectors) {
            addGroupByElement(block, slot, g, w, out, outOff);
            return;
        }
        FloatVector a = FloatVector.broadcast(F, w);
        int at = valueCodes + slot * headSize + g * group, o = outOff + g * group;
        for (int c = 0; c < group; c += F.length()) {
            widen(ByteVector.fromArray(B, block, at + c))
                    .fma(a, FloatVector.fromArray(F, out, o + c))
                    .intoArray(out, o + c);
        }
    }
}
