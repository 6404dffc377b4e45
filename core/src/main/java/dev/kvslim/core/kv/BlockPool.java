package dev.kvslim.core.kv;

import java.util.ArrayDeque;
import java.util.Objects;

/**
 * Fixed-size blocks of key/value storage for one KV head's tokens, drawn from one pool with a byte budget that
 * all sequences, layers and heads share. A block holds {@code blockSize} tokens' keys and values in the pool's
 * {@link KvType} (laid out as {@link KvBlocks} says), so a 16-bit type fits twice the tokens in the same budget.
 * Blocks are allocated lazily up to the budget and reused once freed. Thread-safe: sequences on different threads
 * share one pool.
 */
public final class BlockPool {

    private final int headSize;
    private final int blockSize;
    private final long budgetBytes;
    private final KvType type;
    private final int maxBlocks;
    private final KvBlocks storage;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private int created;
    private int used;
    private int[] refs = new int[64]; // per block id: the block tables that hold it (0: free)

    /**
     * Heap not in use now. Called once a model is loaded, it is what the weights (quantised and half-precision
     * weights live on the heap) and everything else leave for KV caches: the most a default KV budget may take.
     */
    public static long heapLeft() {
        Runtime r = Runtime.getRuntime();
        return r.maxMemory() - (r.totalMemory() - r.freeMemory());
    }

    /** A default KV budget: {@code 1/share} of the heap, at most what the loaded weights leave ({@link #heapLeft}). */
    public static long defaultBudget(int share) {
        return Math.min(Runtime.getRuntime().maxMemory() / share, heapLeft());
    }

    /** A pool of F32 blocks. */
    public BlockPool(int headSize, int blockSize, long budgetBytes) {
        this(headSize, blockSize, budgetBytes, KvType.F32);
    }

    /**
     * @param headSize    channels per key (and value)
     * @param blockSize   tokens per block; a multiple of the vector width keeps the score loop whole
     * @param budgetBytes most bytes of keys and values the pool may hold
     * @param type        the element type keys and values are stored in
     */
    public BlockPool(int headSize, int blockSize, long budgetBytes, KvType type) {
        if (headSize <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException(
                    "head size and block size must be positive: " + headSize + ", " + blockSize);
        }
        this.headSize = headSize;
        this.blockSize = blockSize;
        this.budgetBytes = budgetBytes;
        this.type = Objects.requireNonNull(type, "type");
        this.maxBlocks = (int) Math.min(Integer.MAX_VALUE, budgetBytes / blockBytes(headSize, blockSize, type));
        if (maxBlocks == 0) {
            throw new IllegalArgumentException("a KV budget of " + budgetBytes + " bytes holds no block of "
                    + blockBytes(headSize, blockSize, type) + " bytes (" + type + ")");
        }
        this.storage = type.blocks(headSize, blockSize, maxBlocks);
    }

    /** Bytes of an F32 block. */
    static long blockBytes(int headSize, int blockSize) {
        return blockBytes(headSize, blockSize, KvType.F32);
    }

    /** Bytes of a block of {@code type}: keys and values of {@code blockSize} tokens. */
    public static long blockBytes(int headSize, int blockSize, KvType type) {
        return 2L * blockSize * type.vectorBytes(headSize);
    }

    /** The element type of keys and values. */
    public KvType type() {
        return type;
    }

    public int headSize() {
        return headSize;
    }

    public int blockSize() {
        return blockSize;
    }

    public long blockBytes() {
        return blockBytes(headSize, blockSize, type);
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
        if (id == null) {
            storage.create(created);
            id = created++;
            if (id >= refs.length) {
                refs = java.util.Arrays.copyOf(refs, Math.max(2 * refs.length, id + 1));
            }
        }
        refs[id] = 1;
        return id;
    }

    /** One more block table holds block {@code id} (a cache forked from another shares its blocks). */
    public synchronized void retain(int id) {
        if (id < 0 || id >= created || refs[id] == 0) {
            throw new IllegalArgumentException("no block " + id + " in use");
        }
        refs[id]++;
    }

    /** Whether more than one block table holds block {@code id}: it must be copied before it is written. */
    public synchronized boolean shared(int id) {
        return refs[id] > 1;
    }

    /** Fails unless {@code count} blocks could be allocated now. */
    public synchronized void require(long count) {
        if (count > maxBlocks - used) {
            throw new KvCacheFullException(count, maxBlocks - used, budgetBytes);
        }
    }

    /** A block table lets go of block {@code id}; it is free once none holds it. */
    public synchronized void free(int id) {
        if (id < 0 || id >= created || refs[id] == 0) {
            throw new IllegalArgumentException("no block " + id + " in use");
        }
        if (--refs[id] == 0) {
            used--;
            free.push(id);
        }
    }

    /**
     * The storage of every block, addressed by block id. Unsynchronized: the thread that allocated a block hands
     * it to others only through a happens-before edge (a parallel loop's start).
     */
    KvBlocks storage() {
        return storage;
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
