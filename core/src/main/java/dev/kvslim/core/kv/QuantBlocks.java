package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.FastExp;
import dev.kvslim.core.tensor.HalfFloats;
import dev.kvslim.core.tensor.Kernels;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Keys and values quantised in groups of channels ({@link KvType#group}), each group with its own half-float scale:
 * what the two quantised types share. A block keeps its codes in one {@code byte[]} (keys channel-major so the
 * scores of a block are multiply-adds over slots, then values slot-major, as {@link KvBlocks} lays out floats) and
 * its scales in one {@code short[]}: keys' {@code [group][slot]}, then values' {@code [slot][group]}. The subclasses
 * own how codes are packed and read; scales, moves and copies are here.
 */
abstract sealed class QuantBlocks extends KvBlocks permits Q8Blocks, Q4Blocks {

    static final VectorSpecies<Float> F = Kernels.species();
    static final VectorSpecies<Short> S = HalfFloats.SHORTS;
    /** Bytes widened to one float vector; none when float vectors are narrower than 64 bits of bytes. */
    static final VectorSpecies<Byte> B =
            F.length() >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8)) : null;

    /** Channels per scale. */
    final int group;
    /** Groups per head. */
    final int groups;
    /** Bytes of one key's (or value's) codes. */
    final int codeBytes;
    /** Where a block's value codes start: after the keys' {@code codeBytes x blockSize}. */
    final int valueCodes;
    /** Where a block's value scales start: after the keys' {@code groups x blockSize}. */
    final int valueScales;

    final byte[][] codes;
    final short[][] scales;

    QuantBlocks(int headSize, int blockSize, int maxBlocks, int codeBytes) {
        super(headSize, blockSize);
        this.group = KvType.group(headSize);
        this.groups = headSize / group;
        this.codeBytes = codeBytes;
        this.valueCodes = codeBytes * blockSize;
        this.valueScales = groups * blockSize;
        this.codes = new byte[maxBlocks][];
        this.scales = new short[maxBlocks][];
    }

    /**
     * Quantises the {@code group} values at {@code x[off]} into {@code out[0..group)}, one code a byte; returns the
     * scale as a float (ggml's reference rounding, {@link dev.kvslim.core.tensor.Quantizer}).
     */
    abstract float quantise(float[] x, int off, byte[] out);

    /** Stores the unpacked codes of group {@code g} of a key ({@code key}) or value at {@code slot} of {@code block}. */
    abstract void put(byte[] block, int slot, int g, byte[] groupCodes, boolean key);

    /** The code of channel {@code c} of the key ({@code key}) or value at {@code slot}, as a signed multiple of the scale. */
    abstract int code(byte[] block, int slot, int c, boolean key);

    @Override
    final void create(int id) {
        codes[id] = new byte[2 * valueCodes];
        scales[id] = new short[2 * valueScales];
    }

    @Override
    final void store(int id, int slot, float[] k, int kOff, float[] v, int vOff) {
        byte[] block = codes[id];
        short[] sc = scales[id];
        byte[] groupCodes = new byte[group];
        for (int g = 0; g < groups; g++) {
            sc[g * blockSize + slot] = HalfFloats.toF16(quantise(k, kOff + g * group, groupCodes));
            put(block, slot, g, groupCodes, true);
            sc[valueScales + slot * groups + g] = HalfFloats.toF16(quantise(v, vOff + g * group, groupCodes));
            put(block, slot, g, groupCodes, false);
        }
    }

    @Override
    final void copy(int fromId, int toId) {
        System.arraycopy(codes[fromId], 0, codes[toId], 0, codes[fromId].length);
        System.arraycopy(scales[fromId], 0, scales[toId], 0, scales[fromId].length);
    }

    @Override
    final void move(int fromId, int slot, int toId, int toSlot) {
        byte[] src = codes[fromId], dst = codes[toId];
        for (int r = 0; r < codeBytes; r++) {
            dst[r * blockSize + toSlot] = src[r * blockSize + slot];
        }
        System.arraycopy(src, valueCodes + slot * codeBytes, dst, valueCodes + toSlot * codeBytes, codeBytes);
        short[] from = scales[fromId], to = scales[toId];
        for (int g = 0; g < groups; g++) {
            to[g * blockSize + toSlot] = from[g * blockSize + slot];
        }
        System.arraycopy(from, valueScales + slot * groups, to, valueScales + toSlot * groups, groups);
    }

    /** The scale of group {@code g} of the key in {@code slot} of block {@code id}. */
    final float keyScale(int id, int slot, int g) {
        return Float.float16ToFloat(scales[id][g * blockSize + slot]);
    }

    /** The scale of group {@code g} of the value in {@code slot} of block {@code id}. */
    final float valueScale(int id, int slot, int g) {
        return Float.float16ToFloat(scales[id][valueScales + slot * groups + g]);
    }

    @Override
    final float key(int id, int slot, int c) {
        return keyScale(id, slot, c / group) * code(codes[id], slot, c, true);
    }

    @Override
    final float value(int id, int slot, int c) {
        return valueScale(id, slot, c / group) * code(codes[id], slot, c, false);
    }

    /** The key scales of group {@code g} for the slots {@code j..} of a tile, widened. */
    private FloatVector keyScales(short[] sc, int g, int j) {
        return HalfFloats.widenF16Scales(ShortVector.fromArray(S, sc, g * blockSize + j));
    }

    /** Signed bytes widened to floats. */
    static FloatVector widen(ByteVector b) {
        return (FloatVector) b.convertShape(VectorOperators.B2F, F, 0);
    }

    /**
     * The dot products of {@code q}'s channels in group {@code g} with the codes of the keys in slots
     * {@code j .. j + lanes} (scale-free: {@link #scores} multiplies by each key's scale).
     */
    abstract FloatVector groupDot(byte[] block, int g, int j, float[] q, int qOff);

    @Override
    final void scores(int id, int n, float[] q, int qOff, float scale, float[] out, int outOff) {
        if (B == null) {
            for (int j = 0; j < n; j++) {
                float s = 0f;
                for (int c = 0; c < headSize; c++) {
                    s += q[qOff + c] * key(id, j, c);
                }
                out[outOff + j] = scale * s;
            }
            return;
        }
        byte[] block = codes[id];
        short[] sc = scales[id];
        for (int j = 0; j < n; j += F.length()) {
            FloatVector acc = FloatVector.zero(F);
            for (int g = 0; g < groups; g++) {
                acc = groupDot(block, g, j, q, qOff).fma(keyScales(sc, g, j), acc);
            }
            acc.mul(scale).intoArray(out, outOff + j);
        }
    }

    /** Adds {@code w} times the codes of group {@code g} of the value in {@code slot} to {@code out[outOff + g * group ..]}. */
    abstract void addGroup(byte[] block, int slot, int g, float w, float[] out, int outOff);

    /** {@link #addGroup} one element at a time, for shapes the vector loops do not cover. */
    final void addGroupByElement(byte[] block, int slot, int g, float w, float[] out, int outOff) {
        for (int c = g * group; c < (g + 1) * group; c++) {
            out[outOff + c] += w * code(block, slot, c, false);
        }
    }

    @Override
    final float accumulate(int id, int n, float[] scores, float max, float[] out, int outOff) {
        byte[] block = codes[id];
        float sum = FastExp.expShiftSum(scores, 0, n, max); // masked slots (-inf) weigh 0
        for (int j = 0; j < n; j++) {
            float e = scores[j];
            if (e == 0f) {
                continue;
            }
            for (int g = 0; g < groups; g++) {
                addGroup(block, j, g, e * valueScale(id, j, g), out, outOff);
            }
        }
        return sum;
    }
}
