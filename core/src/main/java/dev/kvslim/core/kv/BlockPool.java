package dev.kvslim.core.kv;

import java.util.ArrayDeque;

/**
 * Fixed-size blocks of key/value storage for one KV head's tokens, drawn from one pool with a byte budget that
 * all sequences, layers and heads share. A block holds {@code blockSize} tokens: keys channel-major
 * ({@code [channel][slot]}, so scores of a block are plain multiply-adds over slots) then values slot-major
 * ({@code [slot][channel]}). Blocks are allocated lazily up to the budget and reused once freed.
 * Thread-safe: sequences on different threads share one pool.
 */
public final class BlockPool {

    private final int headSize;
    private final int blockSize;
    private final long budgetBytes;
    private final int maxBlocks;
    private final float[][] storage;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private int created;
    private int used;

    /**
     * @param headSize    channels per key (and value)
     * @param blockSize   tokens per block; a multiple of the vector width keeps the score loop whole
     * @param budgetBytes most bytes of keys and values the pool may hold
     */
    public BlockPool(int headSize, int blockSize, long budgetBytes) {
        if (headSize <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("head size and block size must be positive: " + headSize + ", " + blockSize);
        }
        this.headSize = headSize;
        this.blockSize = blockSize;
        this.budgetBytes = budgetBytes;
        this.maxBlocks = (int) Math.min(Integer.MAX_VALUE, budgetBytes / blockBytes(headSize, blockSize));
        if (maxBlocks == 0) {
            throw new IllegalArgumentException("a KV budget of " + budgetBytes + " bytes holds no block of "
                    + blockBytes(headSize, blockSize) + " bytes");
        }
        this.storage = new float[maxBlocks][];
    }

    static long blockBytes(int headSize, int blockSize) {
        return 2L * headSize * blockSize * Float.BYTES;
    }

    public int headSize() {
        return headSize;
    }

    public int blockSize() {
        return blockSize;
    }

    public long blockBytes() {
        return blockBytes(headSize, blockSize);
    }

    public long budgetBytes() {
        return budgetBytes;
    }

    /** A free block's id; fails with {@link KvCacheFullException} when the budget is spent. */
    public synchronized int allocate() {
        if (used == maxBlocks) {
            throw new KvCacheFullException(1, 0, budgetBytes);
        }
        used++;
        Integer id = free.poll();
        if (id != null) {
            return id;
        }
        storage[created] = new float[2 * headSize * blockSize];
        return created++;
    }

    /** Fails unless {@code count} blocks could be allocated now. */
    public synchronized void require(long count) {
        if (count > maxBlocks - used) {
            throw new KvCacheFullException(count, maxBlocks - used, budgetBytes);
        }
    }

    public synchronized void free(int id) {
        if (id < 0 || id >= created) {
            throw new IllegalArgumentException("no block " + id);
        }
        used--;
        free.push(id);
    }

    /**
     * The storage of block {@code id}: keys at [0, headSize*blockSize), values after. Unsynchronized: the thread
     * that allocated a block hands it to others only through a happens-before edge (a parallel loop's start).
     */
    public float[] block(int id) {
        return storage[id];
    }

    public synchronized int usedBlocks() {
        return used;
    }

    public int capacityBlocks() {
        return maxBlocks;
    }

    public synchronized long usedBytes() {
        return used * blockBytes();
    }

    /** Fraction of the budget in use, 0 to 1. */
    public synchronized double usage() {
        return used / (double) maxBlocks;
    }
}
