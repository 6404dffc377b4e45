package dev.kvslim.core.kv;

/**
 * Keys and values of the tokens a sequence has seen, per layer and KV head, and attention over them.
 * The forward pass only stores post-RoPE keys and values and asks for attention outputs; which tokens a cache
 * keeps, where and in what precision is the cache's business. Positions are absolute token indices.
 */
public interface KvCache {

    /** The most positions this cache can hold. */
    int capacity();

    /**
     * Stores the keys and values of tokens {@code position .. position+count-1} for every KV head of
     * {@code layer}, read from rows {@code row .. row+count-1} of {@code k} and {@code v} (rows of {@code kvDim}
     * floats, keys after RoPE). {@code decisions} holds the model's DMS decision logits in rows of {@code kvHeads}
     * (the same rows), or is null for models without DMS; caches that do not evict ignore it. The rows let the
     * forward pass hand over one sequence's part of a batch in place.
     */
    void store(int layer, int position, int count, float[] k, float[] v, float[] decisions, int row);

    /** {@link #store(int, int, int, float[], float[], float[], int)} from row 0. */
    default void store(int layer, int position, int count, float[] k, float[] v, float[] decisions) {
        store(layer, position, count, k, v, decisions, 0);
    }

    /**
     * Attention of the {@code group} query heads that share KV head {@code kvHead} (stored one after another from
     * {@code qOff}), for the query at {@code position}, over the keys visible to it: for each head g,
     * {@code out[outOff + g*headSize ..+headSize) = softmax(q_g . K^T / sqrt(headSize)) V}.
     * {@code scratch} holds at least {@link #scratchSize()} floats and belongs to the calling thread.
     */
    void attend(
            int layer,
            int position,
            int kvHead,
            float[] q,
            int qOff,
            int group,
            float[] out,
            int outOff,
            float[] scratch);

    /**
     * {@link #attend} for {@code count} queries at consecutive positions from {@code position}: query i's group of
     * heads at {@code q[qOff + i * qStride ..]}, its output at {@code out[outOff + i * outStride ..]}. A cache may
     * read its keys and values once for the whole tile; this default asks one query at a time. {@code count} is at
     * most {@link #TILE}.
     */
    default void attendTile(
            int layer,
            int position,
            int count,
            int kvHead,
            float[] q,
            int qOff,
            int qStride,
            int group,
            float[] out,
            int outOff,
            int outStride,
            float[] scratch) {
        for (int i = 0; i < count; i++) {
            attend(layer, position + i, kvHead, q, qOff + i * qStride, group, out, outOff + i * outStride, scratch);
        }
    }

    /** The most queries of one {@link #attendTile} call. */
    int TILE = 32;

    /**
     * Checks that {@code count} more tokens fit, before the forward pass stores any of them, so that a cache
     * that is full fails with {@link KvCacheFullException} and stays as it was. Unbounded caches accept all.
     */
    default void reserve(int count) {}

    /**
     * Called once a layer's attention for a batch ending at {@code lastPosition} is done: a cache may now drop
     * what no later query of that layer can see, or what its eviction policy lets go.
     */
    default void afterAttention(int layer, int lastPosition) {}

    /** Floats of per-thread scratch {@link #attend} and {@link #attendTile} need. */
    int scratchSize();

    /** Forgets every position from {@code length} on (0 clears the cache). */
    void truncate(int length);

    /** Bytes of memory holding keys and values now. */
    long bytesUsed();
}
