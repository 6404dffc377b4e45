package dev.kvslim.core.kv;

/**
 * What an {@link EvictionPolicy} sees of one (layer, KV head) after a batch's attention: the batch's last queries
 * (as many as the policy asked for, post-RoPE like the keys), the attention weights a query puts on the head's
 * slots (recomputed on demand, a second pass over the keys) and scratch rows as long as the head's slots. One per
 * worker thread, reused from head to head; every row it returns is overwritten by the next call that returns it.
 */
final class Observation {

    private final HeadStore.Visibility visibility;
    private final int group;
    private final float scale;
    private final Rotary rotary;
    private HeadStore head;
    private float[] queries;
    private int stride;
    private int offset;
    private int first;
    private int count;
    private boolean decode;
    private float[] weights = new float[0];
    private float[] tmp = new float[0];
    private float[] rank = new float[0];
    private float[] sums = new float[0];

    Observation(HeadStore.Visibility visibility, int group, float scale, Rotary rotary) {
        this.visibility = visibility;
        this.group = group;
        this.scale = scale;
        this.rotary = rotary;
    }

    /**
     * Points this at {@code head} after a batch whose observed queries are positions {@code first ..
     * first+count-1}, query i's group of heads at {@code queries[i*stride + offset ..]}; {@code decode} says the
     * batch was one token.
     */
    void set(HeadStore head, float[] queries, int stride, int offset, int first, int count, boolean decode) {
        this.head = head;
        this.queries = queries;
        this.stride = stride;
        this.offset = offset;
        this.first = first;
        this.count = count;
        this.decode = decode;
        int slots = head.blocks() * head.blockSize();
        if (rank.length < slots) {
            weights = new float[slots];
            tmp = new float[slots];
            rank = new float[slots];
            sums = new float[slots];
        }
    }

    /** Query heads per KV head. */
    int group() {
        return group;
    }

    /** The attention's scale of a query-key dot product (1/sqrt(head size) for Llama). */
    float scale() {
        return scale;
    }

    /** The rotary embedding the queries and keys carry. */
    Rotary rotary() {
        return rotary;
    }

    /** Whether the batch was a single token (a decode step). */
    boolean decode() {
        return decode;
    }

    /** Observed queries: the batch's last ones, oldest first. */
    int count() {
        return count;
    }

    int position(int i) {
        return first + i;
    }

    /** The array holding the observed queries; query i's group of heads starts at {@link #queryOffset}. */
    float[] queries() {
        return queries;
    }

    int queryOffset(int i) {
        return i * stride + offset;
    }

    /** The attention weights observed query i puts on each slot, averaged over the group's heads. */
    float[] weights(int i) {
        return weights(queries, queryOffset(i), position(i));
    }

    /** The attention weights query head {@code g} of observed query i's group puts on each slot. */
    float[] weightsOfHead(int i, int g) {
        head.weights(position(i), visibility, queries, queryOffset(i) + g * head.headSize(), 1, scale, weights, tmp);
        return weights;
    }

    /** The same for any query: its group of heads at {@code q[qOff..]}, at {@code position}. */
    float[] weights(float[] q, int qOff, int position) {
        head.weights(position, visibility, q, qOff, group, scale, weights, tmp);
        return weights;
    }

    /** A scratch row for ranks. */
    float[] rank() {
        return rank;
    }

    /** A second scratch row, for sums. */
    float[] sums() {
        return sums;
    }
}
