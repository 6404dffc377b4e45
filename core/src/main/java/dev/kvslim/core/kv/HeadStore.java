package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.Kernels;
import java.util.Arrays;

/**
 * The tokens one (sequence, layer, KV head) keeps: slots in blocks from a {@link BlockPool}, each slot with the
 * absolute position of its token (or -1 for a hole left by an eviction, filled by the next token stored), a
 * one-byte flag DMS uses and a float score an {@link EvictionPolicy} may use. Slot order is not position order
 * once holes are reused or tokens moved; keys are stored after RoPE, so attention does not care.
 */
final class HeadStore {

    private final BlockPool pool;
    private final KvBlocks kv;
    private final int headSize;
    private final int blockSize;
    private int[] blocks = new int[4];
    private int blockCount;
    private int slots;
    private int[] positions = new int[64];
    private byte[] flags = new byte[64];
    private float[] scores = new float[64];
    private int[] holes = new int[8];
    private int holeCount;
    // no token was ever evicted: slot s holds the head's s-th position, in increasing order, with no holes
    private boolean ordered = true;
    private int live;
    private long seen;
    // marked tokens, in position order: DMS evicts them when they leave the window
    private int[] markedSlots = new int[16];
    private int[] markedPositions = new int[16];
    private int markedHead;
    private int markedTail;
    private int lastSlot = -1;
    private int maxEvictedPosition = -1;
    // per block index: the block may be held by another head's table too (after a fork), so it is copied before it is
    // written (copy-on-write); null while this head never shared a block
    private boolean[] mayShare;
    private int mayShareCount; // entries of mayShare set (0: nothing to check)

    HeadStore(BlockPool pool) {
        this.pool = pool;
        this.kv = pool.storage();
        this.headSize = pool.headSize();
        this.blockSize = pool.blockSize();
    }

    int live() {
        return live;
    }

    long seen() {
        return seen;
    }

    int blocks() {
        return blockCount;
    }

    int slots() {
        return slots;
    }

    int position(int slot) {
        return positions[slot];
    }

    byte flag(int slot) {
        return flags[slot];
    }

    void setFlag(int slot, byte value) {
        flags[slot] = value;
    }

    int headSize() {
        return headSize;
    }

    int blockSize() {
        return blockSize;
    }

    /** The policy's score of a slot (0 when stored). */
    float score(int slot) {
        return scores[slot];
    }

    void setScore(int slot, float value) {
        scores[slot] = value;
    }

    /** New blocks storing {@code count} more tokens would take, at most (copies of shared blocks written included). */
    int blocksFor(int count) {
        int fresh = Math.max(0, count - holeCount);
        int blocks = (int) (((long) slots + fresh + blockSize - 1) / blockSize - blockCount);
        if (mayShareCount > 0 && count > 0) {
            boolean[] counted = new boolean[blockCount];
            for (int i = 0; i < holeCount; i++) {
                counted[holes[i] / blockSize] = true;
            }
            if (fresh > 0 && slots % blockSize != 0) {
                counted[blockCount - 1] = true;
            }
            for (int b = 0; b < blockCount; b++) {
                if (counted[b] && b < mayShare.length && mayShare[b]) {
                    blocks++;
                }
            }
        }
        return blocks;
    }

    /**
     * A head holding the same tokens as this one, sharing its blocks (each block's reference count goes up): blocks
     * are copied only when one of the two writes to them. The two then go their own ways.
     */
    HeadStore fork() {
        HeadStore c = sameTable(pool);
        c.blocks = blocks.clone();
        c.blockCount = blockCount;
        for (int b = 0; b < blockCount; b++) {
            pool.retain(blocks[b]);
        }
        if (mayShare == null || mayShare.length < blocks.length) {
            mayShare = mayShare == null ? new boolean[blocks.length] : Arrays.copyOf(mayShare, blocks.length);
        }
        Arrays.fill(mayShare, 0, blockCount, true);
        mayShareCount = countSet(mayShare);
        c.mayShare = mayShare.clone();
        c.mayShareCount = mayShareCount;
        return c;
    }

    /**
     * A head holding the same tokens as this one in blocks of its own, copied now: nothing is shared afterwards,
     * and this head is left as it was. Fails with {@link KvCacheFullException} when the pool cannot take the blocks,
     * holding nothing then (whatever it had taken is given back).
     */
    HeadStore copy() {
        return copyInto(pool);
    }

    /**
     * {@link #copy} into {@code target}, a pool of the same block size in any element type: in another pool every
     * key and value is read back as floats and stored again, rounded to the target's type.
     */
    HeadStore copyInto(BlockPool target) {
        if (target.blockSize() != blockSize || target.headSize() != headSize) {
            throw new IllegalArgumentException(
                    "a pool of " + target.blockSize() + "-token blocks of " + target.headSize()
                            + " channels cannot take a head of " + blockSize + "-token blocks of " + headSize);
        }
        target.require(blockCount);
        HeadStore c = sameTable(target);
        c.blocks = new int[blocks.length];
        float[] k = new float[headSize], v = new float[headSize];
        try {
            for (int b = 0; b < blockCount; b++) {
                c.blocks[b] = target.allocate();
                c.blockCount = b + 1;
                if (target == pool) {
                    kv.copy(blocks[b], c.blocks[b]);
                    continue;
                }
                for (int s = 0; s < Math.min(blockSize, slots - b * blockSize); s++) {
                    for (int ch = 0; ch < headSize; ch++) {
                        k[ch] = kv.key(blocks[b], s, ch);
                        v[ch] = kv.value(blocks[b], s, ch);
                    }
                    c.kv.store(c.blocks[b], s, k, 0, v, 0);
                }
            }
        } catch (RuntimeException | Error e) {
            c.release(); // another sequence took the pool's last blocks meanwhile, or the heap ran out
            throw e;
        }
        return c;
    }

    /**
     * A head in {@code p} with this one's slots, positions, flags, scores and DMS bookkeeping, but no blocks yet
     * (the caller fills {@code blocks} and {@code blockCount}).
     */
    private HeadStore sameTable(BlockPool p) {
        HeadStore c = new HeadStore(p);
        c.slots = slots;
        c.positions = positions.clone();
        c.flags = flags.clone();
        c.scores = scores.clone();
        c.holes = holes.clone();
        c.holeCount = holeCount;
        c.ordered = ordered;
        c.live = live;
        c.seen = seen;
        c.markedSlots = markedSlots.clone();
        c.markedPositions = markedPositions.clone();
        c.markedHead = markedHead;
        c.markedTail = markedTail;
        c.lastSlot = lastSlot;
        c.maxEvictedPosition = maxEvictedPosition;
        return c;
    }

    private static int countSet(boolean[] flags) {
        int n = 0;
        for (boolean f : flags) {
            n += f ? 1 : 0;
        }
        return n;
    }

    /** Makes block index {@code b} this head's own before it is written: a copy if another table holds it too. */
    private void own(int b) {
        if (mayShareCount == 0 || b >= mayShare.length || !mayShare[b]) {
            return;
        }
        int id = blocks[b];
        if (pool.shared(id)) {
            int copy = pool.allocate();
            kv.copy(id, copy);
            pool.free(id);
            blocks[b] = copy;
        }
        mayShare[b] = false;
        mayShareCount--;
    }

    /** Stores a token's key and value (from {@code k[kOff..]}, {@code v[vOff..]}) and returns its slot. */
    int append(int position, float[] k, int kOff, float[] v, int vOff) {
        int slot;
        if (holeCount > 0) {
            slot = holes[--holeCount];
        } else {
            slot = slots;
            if (slot == blockCount * blockSize) {
                if (blockCount == blocks.length) {
                    blocks = Arrays.copyOf(blocks, 2 * blockCount);
                }
                if (mayShareCount > 0 && blockCount < mayShare.length && mayShare[blockCount]) {
                    mayShare[blockCount] = false; // a new block is this head's alone
                    mayShareCount--;
                }
                blocks[blockCount++] = pool.allocate();
            }
            slots++;
            if (slots > positions.length) {
                positions = Arrays.copyOf(positions, 2 * positions.length);
                flags = Arrays.copyOf(flags, 2 * flags.length);
                scores = Arrays.copyOf(scores, 2 * scores.length);
            }
        }
        own(slot / blockSize);
        kv.store(blocks[slot / blockSize], slot % blockSize, k, kOff, v, vOff);
        positions[slot] = position;
        flags[slot] = 0;
        scores[slot] = 0f;
        live++;
        seen++;
        lastSlot = slot;
        return slot;
    }

    /** Channel {@code c} of the key in {@code slot}, as stored (rounded to the pool's element type). */
    float key(int slot, int c) {
        return kv.key(blocks[slot / blockSize], slot % blockSize, c);
    }

    /** Channel {@code c} of the value in {@code slot}, as stored. */
    float value(int slot, int c) {
        return kv.value(blocks[slot / blockSize], slot % blockSize, c);
    }

    /** The slot of the most recently stored token, or -1. */
    int lastSlot() {
        return lastSlot;
    }

    /** The highest position evicted so far, or -1. */
    int maxEvictedPosition() {
        return maxEvictedPosition;
    }

    /** Flags {@code slot} (whose token is the newest marked so far) for eviction once it leaves the window. */
    void mark(int slot) {
        flags[slot] = 1;
        if (markedTail == markedSlots.length) {
            int n = markedTail - markedHead;
            if (n * 2 > markedSlots.length) {
                markedSlots = Arrays.copyOf(markedSlots, 2 * markedSlots.length);
                markedPositions = Arrays.copyOf(markedPositions, 2 * markedPositions.length);
            }
            System.arraycopy(markedSlots, markedHead, markedSlots, 0, n);
            System.arraycopy(markedPositions, markedHead, markedPositions, 0, n);
            markedHead = 0;
            markedTail = n;
        }
        markedSlots[markedTail] = slot;
        markedPositions[markedTail++] = positions[slot];
    }

    /** Evicts every marked token at a position before {@code position}; returns how many. */
    int evictMarkedBefore(int position) {
        int evicted = 0;
        while (markedHead < markedTail && markedPositions[markedHead] < position) {
            int slot = markedSlots[markedHead];
            if (positions[slot] == markedPositions[markedHead]) {
                maxEvictedPosition = Math.max(maxEvictedPosition, positions[slot]);
                evict(slot);
                evicted++;
            }
            markedHead++;
        }
        return evicted;
    }

    /** Takes back the mark of the newest marked token if it sits at {@code position}. */
    void unmark(int position) {
        if (markedTail > markedHead && markedPositions[markedTail - 1] == position) {
            int slot = markedSlots[--markedTail];
            if (positions[slot] == position) {
                flags[slot] = 0;
            }
        }
    }

    /** Frees a slot; its block stays with this head for the next token. */
    void evict(int slot) {
        if (positions[slot] < 0) {
            throw new IllegalStateException("slot " + slot + " is already empty");
        }
        positions[slot] = -1;
        ordered = false;
        if (holeCount == holes.length) {
            holes = Arrays.copyOf(holes, 2 * holes.length);
        }
        holes[holeCount++] = slot;
        live--;
    }

    /**
     * Evicts the {@code count} live tokens ranked lowest by {@code rank[slot]}, among equal ranks the older
     * first, never the newest token. The caller leaves at least one other token.
     */
    void evictLowest(int count, float[] rank) {
        if (count == 1) {
            int victim = -1;
            long lowest = Long.MAX_VALUE;
            for (int s = 0; s < slots; s++) {
                if (positions[s] >= 0 && s != lastSlot && rankKey(rank[s], positions[s]) < lowest) {
                    lowest = rankKey(rank[s], positions[s]);
                    victim = s;
                }
            }
            evict(victim);
        } else {
            long[] keys = new long[live];
            int n = 0;
            for (int s = 0; s < slots; s++) {
                if (positions[s] >= 0 && s != lastSlot) {
                    keys[n++] = rankKey(rank[s], positions[s]);
                }
            }
            Arrays.sort(keys, 0, n);
            long threshold = keys[count - 1];
            for (int s = 0; s < slots; s++) {
                if (positions[s] >= 0 && s != lastSlot && rankKey(rank[s], positions[s]) <= threshold) {
                    evict(s);
                }
            }
        }
    }

    /** Orders by rank, then by position: a float's bits made to sort as signed integers, above the position. */
    static long rankKey(float rank, int position) {
        int bits = Float.floatToIntBits(rank + 0f);
        bits ^= (bits >> 31) & 0x7fffffff;
        return (long) bits << 32 | position;
    }

    /** Slots left empty by evictions and not yet refilled. */
    int holes() {
        return holeCount;
    }

    /**
     * Moves the tokens of the highest slots into the holes below them, so that the live tokens fill slots
     * {@code [0, live)}, and returns the blocks that emptied to the pool. A moved token keeps its DMS mark (the
     * list of marked tokens follows it to its new slot).
     */
    void compact() {
        if (holeCount == 0) {
            return;
        }
        int lo = 0, hi = slots - 1;
        while (true) {
            while (lo < hi && positions[lo] >= 0) {
                lo++;
            }
            while (hi > lo && positions[hi] < 0) {
                hi--;
            }
            if (lo >= hi) {
                break;
            }
            move(hi--, lo++);
        }
        slots = live;
        holeCount = 0;
        int keep = (slots + blockSize - 1) / blockSize;
        while (blockCount > keep) {
            pool.free(blocks[--blockCount]);
        }
    }

    /** Moves the token in slot {@code from} into the hole at slot {@code to}. */
    private void move(int from, int to) {
        own(to / blockSize);
        kv.move(blocks[from / blockSize], from % blockSize, blocks[to / blockSize], to % blockSize);
        positions[to] = positions[from];
        flags[to] = flags[from];
        scores[to] = scores[from];
        positions[from] = -1;
        if (lastSlot == from) {
            lastSlot = to;
        }
        if (flags[to] == 1) {
            // marked tokens are listed in position order: find this one's entry and point it at the new slot
            int i = Arrays.binarySearch(markedPositions, markedHead, markedTail, positions[to]);
            if (i >= 0 && markedSlots[i] == from) {
                markedSlots[i] = to;
            }
        }
    }

    /** Forgets every token at {@code length} or later, returning emptied trailing blocks to the pool. */
    void truncate(int length) {
        boolean wasOrdered = ordered;
        lastSlot = -1;
        for (int s = 0; s < slots; s++) {
            if (positions[s] >= length) {
                evict(s);
            } else if (positions[s] == length - 1) {
                lastSlot = s;
            }
        }
        seen = Math.min(seen, length);
        while (markedTail > markedHead && markedPositions[markedTail - 1] >= length) {
            markedTail--;
        }
        while (slots > 0 && positions[slots - 1] < 0) {
            slots--;
        }
        holeCount = 0;
        for (int s = 0; s < slots; s++) {
            if (positions[s] < 0) {
                holes[holeCount++] = s;
            }
        }
        ordered = wasOrdered && holeCount == 0; // cutting an ordered head's tail leaves it ordered
        int keep = (slots + blockSize - 1) / blockSize;
        while (blockCount > keep) {
            pool.free(blocks[--blockCount]);
        }
    }

    void release() {
        while (blockCount > 0) {
            pool.free(blocks[--blockCount]);
        }
        slots = 0;
        holeCount = 0;
        live = 0;
        seen = 0;
        markedHead = markedTail = 0;
        lastSlot = -1;
        maxEvictedPosition = -1;
        ordered = true;
    }

    /**
     * Flash-style attention of {@code group} query heads (from {@code qOff}) at query {@code position} over the
     * slots {@code visible} accepts: blocks are visited once, each head keeping a running maximum, a running sum
     * and its output, so no score row longer than a block is ever materialised. {@code scratch} holds at least
     * {@code blockSize + 2 * group} floats.
     */
    void attend(
            int position,
            Visibility visible,
            float[] q,
            int qOff,
            int group,
            float scale,
            float[] out,
            int outOff,
            float[] scratch) {
        int maxAt = blockSize, sumAt = blockSize + group;
        for (int g = 0; g < group; g++) {
            scratch[maxAt + g] = Float.NEGATIVE_INFINITY;
            scratch[sumAt + g] = 0f;
        }
        Arrays.fill(out, outOff, outOff + group * headSize, 0f);
        boolean causal = ordered && visible.causal();
        for (int b = 0; b < blockCount; b++) {
            int first = b * blockSize;
            int n = Math.min(blockSize, slots - first);
            if (causal && positions[first] > position) {
                break; // this block and every later one hold only later positions
            }
            boolean whole = causal && positions[first + n - 1] <= position;
            for (int g = 0; g < group; g++) {
                kv.scores(blocks[b], n, q, qOff + g * headSize, scale, scratch, 0);
                float blockMax = whole ? Kernels.max(scratch, 0, n) : mask(first, n, visible, position, scratch, 0);
                if (blockMax == Float.NEGATIVE_INFINITY) {
                    continue;
                }
                int og = outOff + g * headSize;
                float max = scratch[maxAt + g];
                if (blockMax > max) {
                    float correction = (float) Math.exp(max - blockMax);
                    scratch[sumAt + g] *= correction;
                    for (int c = 0; c < headSize; c++) {
                        out[og + c] *= correction;
                    }
                    max = blockMax;
                    scratch[maxAt + g] = max;
                }
                scratch[sumAt + g] += kv.accumulate(blocks[b], n, scratch, max, out, og);
            }
        }
        for (int g = 0; g < group; g++) {
            float sum = scratch[sumAt + g];
            if (sum > 0f) {
                float inv = 1f / sum;
                for (int c = 0; c < headSize; c++) {
                    out[outOff + g * headSize + c] *= inv;
                }
            }
        }
    }

    /**
     * {@link #attend} for {@code count} queries at consecutive positions from {@code first} (query i's group of heads
     * at {@code q[qOff + i * qStride ..]}, its output at {@code out[outOff + i * outStride ..]}): blocks outer,
     * queries inner, so a prompt's tile of queries reads each block's keys and values from memory once instead of
     * once per query (at long context a head's keys and values far outgrow the core's caches, and per-query
     * attention was bound by reading them), and within a block four query heads at a time share every key and value
     * vector read ({@link KvBlocks#scores4}, {@link KvBlocks#accumulate4}). A block none of whose tokens a query can
     * see (all of them after it) is skipped for that query. {@code scratch} holds at least {@link #tileScratch}
     * floats.
     */
    void attendTile(
            int first,
            int count,
            Visibility visible,
            float[] q,
            int qOff,
            int qStride,
            int group,
            float scale,
            float[] out,
            int outOff,
            int outStride,
            float[] scratch) {
        int rows = KvBlocks.ROWS, heads = count * group;
        int rowsAt = blockSize, maxAt = (1 + rows) * blockSize, sumAt = maxAt + heads;
        for (int h = 0; h < heads; h++) {
            scratch[maxAt + h] = Float.NEGATIVE_INFINITY;
            scratch[sumAt + h] = 0f;
        }
        for (int i = 0; i < count; i++) {
            Arrays.fill(out, outOff + i * outStride, outOff + i * outStride + group * headSize, 0f);
        }
        int[] qOffs = new int[rows], outOffs = new int[rows];
        float[] rowMax = new float[rows], rowSum = new float[rows];
        boolean causal = ordered && visible.causal();
        for (int b = 0; b < blockCount; b++) {
            int start = b * blockSize;
            int n = Math.min(blockSize, slots - start);
            int lowest = causal ? positions[start] : Integer.MAX_VALUE;
            for (int j = 0; j < n && !causal; j++) {
                int p = positions[start + j];
                if (p >= 0 && p < lowest) {
                    lowest = p;
                }
            }
            // in an ordered causal head, the queries from here on see the whole block
            int wholeFrom = causal ? positions[start + n - 1] : Integer.MAX_VALUE;
            // query heads (query i, head g) in order h = i * group + g; the first queries may see none of the block
            for (int h0 = (int) Math.max(0, Math.min((long) count, (long) lowest - first)) * group;
                    h0 < heads;
                    h0 += rows) {
                int m = Math.min(rows, heads - h0);
                for (int r = 0; r < rows; r++) {
                    int h = h0 + Math.min(r, m - 1); // a short last run repeats its last head, left out below
                    int i = h / group, g = h % group;
                    qOffs[r] = qOff + i * qStride + g * headSize;
                    outOffs[r] = outOff + i * outStride + g * headSize;
                }
                kv.scores4(blocks[b], n, q, qOffs, scale, scratch, rowsAt);
                for (int r = 0; r < rows; r++) {
                    rowMax[r] = Float.POSITIVE_INFINITY; // left out unless it sees a token
                    if (r >= m) {
                        continue;
                    }
                    int h = h0 + r, position = first + h / group, row = rowsAt + r * blockSize;
                    float blockMax = position >= wholeFrom
                            ? Kernels.max(scratch, row, n)
                            : mask(start, n, visible, position, scratch, row);
                    if (blockMax == Float.NEGATIVE_INFINITY) {
                        continue;
                    }
                    float max = scratch[maxAt + h];
                    if (blockMax > max) {
                        float correction = (float) Math.exp(max - blockMax);
                        scratch[sumAt + h] *= correction;
                        for (int c = 0; c < headSize; c++) {
                            out[outOffs[r] + c] *= correction;
                        }
                        max = blockMax;
                        scratch[maxAt + h] = max;
                    }
                    rowMax[r] = max;
                }
                kv.accumulate4(blocks[b], n, scratch, rowsAt, rowMax, rowSum, out, outOffs);
                for (int r = 0; r < m; r++) {
                    if (rowMax[r] != Float.POSITIVE_INFINITY) {
                        scratch[sumAt + h0 + r] += rowSum[r];
                    }
                }
            }
        }
        for (int h = 0; h < heads; h++) {
            float sum = scratch[sumAt + h];
            if (sum > 0f) {
                float inv = 1f / sum;
                int o = outOff + (h / group) * outStride + (h % group) * headSize;
                for (int c = 0; c < headSize; c++) {
                    out[o + c] *= inv;
                }
            }
        }
    }

    /** Floats of scratch {@link #attendTile} needs for {@code queryHeads} query heads with blocks of {@code blockSize}. */
    static int tileScratch(int blockSize, int queryHeads) {
        return (1 + KvBlocks.ROWS) * blockSize + 2 * queryHeads;
    }

    /**
     * The attention weights the query at {@code position} ({@code group} heads from {@code qOff}) puts on each
     * slot, averaged over the heads: {@code out[slot]} = mean over g of softmax(scale q_g . K^T)[slot] over the
     * slots {@code visible} accepts, 0 for the others. These are {@link #attend}'s scores normalised: a second
     * pass over the keys, for the policies that rank tokens by attention. {@code tmp} holds at least
     * {@code blocks() * blockSize} floats.
     */
    void weights(
            int position, Visibility visible, float[] q, int qOff, int group, float scale, float[] out, float[] tmp) {
        Arrays.fill(out, 0, slots, 0f);
        for (int g = 0; g < group; g++) {
            int qg = qOff + g * headSize;
            float max = Float.NEGATIVE_INFINITY;
            for (int b = 0; b < blockCount; b++) {
                int first = b * blockSize;
                int n = Math.min(blockSize, slots - first);
                kv.scores(blocks[b], n, q, qg, scale, tmp, first);
                for (int s = first; s < first + n; s++) {
                    if (positions[s] < 0 || !visible.test(positions[s], flags[s], position)) {
                        tmp[s] = Float.NEGATIVE_INFINITY;
                    } else {
                        max = Math.max(max, tmp[s]);
                    }
                }
            }
            if (max == Float.NEGATIVE_INFINITY) {
                continue;
            }
            float sum = 0f;
            for (int s = 0; s < slots; s++) {
                tmp[s] = (float) Math.exp(tmp[s] - max);
                sum += tmp[s];
            }
            float inv = 1f / (sum * group);
            for (int s = 0; s < slots; s++) {
                out[s] += tmp[s] * inv;
            }
        }
    }

    /**
     * Sets the scores {@code scores[at + j]} of the slots {@code first + j} ({@code j < n}) that the query at
     * {@code position} cannot see (or that are empty) to negative infinity; returns the largest score left.
     */
    private float mask(int first, int n, Visibility visible, int position, float[] scores, int at) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            int p = positions[first + j];
            if (p < 0 || !visible.test(p, flags[first + j], position)) {
                scores[at + j] = Float.NEGATIVE_INFINITY;
            } else {
                max = Math.max(max, scores[at + j]);
            }
        }
        return max;
    }

    /** Whether the key of a slot (its position and flag) is visible to the query at {@code query}. */
    @FunctionalInterface
    interface Visibility {
        boolean test(int keyPosition, byte flag, int query);

        /**
         * Whether exactly the keys at or before the query are visible (no window, no DMS): a head that never evicted
         * then shows a query every slot of a block whose last position is at or before it, without a test per key.
         */
        default boolean causal() {
            return false;
        }

        /** Every key at or before the query. */
        Visibility CAUSAL = new Visibility() {
            @Override
            public boolean test(int keyPosition, byte flag, int query) {
                return keyPosition <= query;
            }

            @Override
            public boolean causal() {
                return true;
            }
        };
    }
}
