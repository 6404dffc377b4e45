package dev.kvslim.core.kv;

/**
 * Keys and values rounded to a 16-bit float format, two bytes an element: storing, moving and reading single
 * values, which do not need vectors. The subclasses own the conversion and the vectorised attention loops.
 */
abstract sealed class ShortBlocks extends KvBlocks permits F16Blocks, Bf16Blocks {

    final short[][] storage;

    ShortBlocks(int headSize, int blockSize, int maxBlocks) {
        super(headSize, blockSize);
        this.storage = new short[maxBlocks][];
    }

    /** {@code f} rounded to the format. */
    abstract short round(float f);

    /** The float a stored element holds. */
    abstract float widen(short bits);

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
}
