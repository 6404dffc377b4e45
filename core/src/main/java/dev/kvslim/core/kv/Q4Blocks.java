package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.Quantizer;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Keys and values as GGML Q4_0: a 4-bit code a channel, value {@code scale * (code - 8)}, two codes a byte as ggml
 * packs them: in a group of {@code n} channels, channel {@code i < n/2} in the low nibble and {@code i + n/2} in the
 * high nibble of byte {@code i}. Keys are channel-major by those bytes (byte {@code r} of every slot's key together,
 * so a tile of slots is one load), values slot-major after them.
 */
final class Q4Blocks extends QuantBlocks {

    private final int half;
    /** Whether the value loop's vectors cover this shape: half a group is whole vectors. */
    private final boolean vectors;

    Q4Blocks(int headSize, int blockSize, int maxBlocks) {
        super(headSize, blockSize, maxBlocks, headSize / 2);
        if (group % 2 != 0) {
            throw new IllegalArgumentException("a Q4_0 KV cache needs an even head size, got " + headSize);
        }
        this.half = group / 2;
        this.vectors = B != null && half % F.length() == 0;
    }

    @Override
    float quantise(float[] x, int off, byte[] out) {
        return Quantizer.q4Codes(x, off, group, out, 0);
    }

    @Override
    void put(byte[] block, int slot, int g, byte[] groupCodes, boolean key) {
        for (int i = 0; i < half; i++) {
            byte packed = (byte) (groupCodes[i] | (groupCodes[i + half] << 4));
            int r = g * half + i;
            block[key ? r * blockSize + slot : valueCodes + slot * codeBytes + r] = packed;
        }
    }

    @Override
    int code(byte[] block, int slot, int c, boolean key) {
        int g = c / group, i = c % group;
        int r = g * half + i % half;
        int packed = block[key ? r * blockSize + slot : valueCodes + slot * codeBytes + r] & 0xFF;
        return (i < half ? packed & 0xF : packed >>> 4) - 8;
    }

    /** Low nibbles of the bytes at {@code at}, as floats 0..15. */
    private static FloatVector low(byte[] block, int at) {
        return widen(ByteVector.fromArray(B, block, at).and((byte) 0xF));
    }

    /** High nibbles of the bytes at {@code at}, as floats 0..15 (x86 has no byte shift: 32-bit lanes, masked). */
    private static FloatVector high(byte[] block, int at) {
        return widen(ByteVector.fromArray(B, block, at)
                .reinterpretAsInts()
                .lanewise(VectorOperators.LSHR, 4)
                .and(0x0F0F0F0F)
                .reinterpretAsBytes());
    }

    @Override
    FloatVector groupDot(byte[] block, int g, int j, float[] q, int qOff) {
        FloatVector ag = FloatVector.zero(F);
        float offset = 0f; // the codes are offset by 8: q . (code - 8) = q . code - 8 * sum(q)
        for (int i = 0; i < half; i++) {
            int at = (g * half + i) * blockSize + j;
            float ql = q[qOff + g * group + i], qh = q[qOff + g * group + half + i];
            ag = low(block, at).fma(FloatVector.broadcast(F, ql), ag);
            ag = high(block, at).fma(FloatVector.broadcast(F, qh), ag);
            offset += ql + qh;
        }
        return ag.sub(8f * offset);
    }

    @Override
    void addGroup(byte[] block, int slot, int g, float w, float[] out, int outOff) {
        if (!vectors) {
            addGroupByElement(block, slot, g, w, out, outOff);
            return;
        }
        FloatVector a = FloatVector.broadcast(F, w), eight = FloatVector.broadcast(F, 8f);
        int at = valueCodes + slot * codeBytes + g * half, o = outOff + g * group;
        for (int i = 0; i < half; i += F.length()) {
            low(block, at + i)
                    .sub(eight)
                    .fma(a, FloatVector.fromArray(F, out, o + i))
                    .intoArray(out, o + i);
            high(block, at + i)
                    .sub(eight)
                    .fma(a, FloatVector.fromArray(F, out, o + half + i))
                    .intoArray(out, o + half + i);
        }
    }
}
