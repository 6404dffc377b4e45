package dev.kvslim.core.kv;

/**
 * The keys and values of a {@link BlockPool}'s blocks in one {@link KvType}, and the loops that read and write
 * them: storing a token, moving one (compaction), the scores of a query against a block's keys and the weighted
 * sum of a block's values. One small class per element type owns its storage and conversion, so the hot path never
 * switches on the type (the two 16-bit types share their loops in {@link ShortBlocks}, differing only in how they
 * widen); each loop covers a whole block, so the one virtual call per block costs nothing.
 * A block holds {@code blockSize} tokens: keys channel-major ({@code [channel][slot]}, so the scores of a block are
 * plain multiply-adds over slots) then values slot-major ({@code [slot][channel]}).
 */
abstract sealed class KvBlocks permits F32Blocks, ShortBlocks, QuantBlocks {

    final int headSize;
    final int blockSize;
    /** Where a block's values start: after its {@code headSize x blockSize} keys. */
    final int values;

    KvBlocks(int headSize, int blockSize) {
        this.headSize = headSize;
        this.blockSize = blockSize;
        this.values = headSize * blockSize;
    }

    /** Creates the storage of block {@code id} (a new id, never one created before). */
    abstract void create(int id);

    /** Stores a token's key ({@code k[kOff..]}) and value ({@code v[vOff..]}) in {@code slot} of block {@code id}. */
    abstract void store(int id, int slot, float[] k, int kOff, float[] v, int vOff);

    /** Copies the whole of block {@code fromId} (keys and values of every slot) into block {@code toId}. */
    abstract void copy(int fromId, int toId);

    /** Copies the token in {@code slot} of block {@code fromId} to {@code toSlot} of block {@code toId}. */
    abstract void move(int fromId, int slot, int toId, int toSlot);

    /** Channel {@code c} of the key in {@code slot} of block {@code id}, as stored. */
    abstract float key(int id, int slot, int c);

    /** Channel {@code c} of the value in {@code slot} of block {@code id}, as stored. */
    abstract float value(int id, int slot, int c);

    /**
     * {@code out[outOff + j] = scale * q . key j} for the slots {@code j < n} of block {@code id}, in tiles of the
     * vector width: up to {@code n} rounded up to a whole tile is written. The query is {@code q[qOff..]}.
     */
    abstract void scores(int id, int n, float[] q, int qOff, float scale, float[] out, int outOff);

    /**
     * The online-softmax step of a block: for the slots {@code j < n} of block {@code id}, {@code e = exp(scores[j] -
     * max)} (0 for a masked slot, whose score is negative infinity), left in {@code scores[j]}, and {@code
     * out[outOff..+headSize) += e * value j}; returns the sum of the {@code e}. The exponentials are computed a vector
     * at a time first ({@link dev.kvslim.core.tensor.FastExp}: one value at a time, {@code Math.exp} made long
     * prompts' attention the slowest part of prefill).
     */
    abstract float accumulate(int id, int n, float[] scores, float max, float[] out, int outOff);

    /** Query rows {@link #scores4} and {@link #accumulate4} take together. */
    static final int ROWS = 4;

    /**
     * {@link #scores} of {@value #ROWS} queries ({@code q[qOffs[r]..]}) at once, row r into {@code out[outOff + r *
     * blockSize ..]}: each key vector is read once for all of them. This default asks one query at a time.
     */
    void scores4(int id, int n, float[] q, int[] qOffs, float scale, float[] out, int outOff) {
        for (int r = 0; r < ROWS; r++) {
            scores(id, n, q, qOffs[r], scale, out, outOff + r * blockSize);
        }
    }

    /**
     * {@link #accumulate} of {@value #ROWS} score rows ({@code scores[off + r * blockSize ..]}, each with its own
     * {@code max[r]}, {@code +Infinity} for a row to leave out: it writes nothing, so its output may be another
     * row's) into {@code out[outOffs[r]..]}, sums into {@code sums[r]}: each value is read once for all rows. This default copies a row at a time to {@code scores[0..n)}
     * (which must be free) and asks {@link #accumulate}.
     */
    void accumulate4(int id, int n, float[] scores, int off, float[] max, float[] sums, float[] out, int[] outOffs) {
        for (int r = 0; r < ROWS; r++) {
            if (max[r] == Float.POSITIVE_INFINITY) {
                sums[r] = 0f;
                continue;
            }
            System.arraycopy(scores, off + r * blockSize, scores, 0, n);
            sums[r] = accumulate(id, n, scores, max[r], out, outOffs[r]);
        }
    }
}
