package dev.kvslim.core.kv;

/**
 * What a KV cache needs to know of a model: how many layers and heads, the head size, the sliding window, and the
 * DMS window the model was retrofitted with. Keeps this package free of the model's full configuration
 * ({@code LlamaConfig#kvShape} makes one).
 *
 * @param layers        decoder blocks, each with its own keys and values
 * @param heads         query heads
 * @param kvHeads       key/value heads (a divisor of {@code heads}; fewer for GQA)
 * @param headSize      channels per head
 * @param slidingWindow each query sees only the last this-many positions (itself included); 0 for all
 * @param dmsWindow     the DMS window w the model was trained with, or -1 when it has no DMS
 * @param dmsRule       whose DMS rule the model's decisions follow
 * @param rotary        the rotary embedding the keys and queries carry
 */
public record KvShape(
        int layers,
        int heads,
        int kvHeads,
        int headSize,
        int slidingWindow,
        int dmsWindow,
        DmsRule dmsRule,
        Rotary rotary) {

    /** A shape whose DMS decisions, if any, follow the reference rule, for keys without rotary embedding. */
    public KvShape(int layers, int heads, int kvHeads, int headSize, int slidingWindow, int dmsWindow) {
        this(
                layers,
                heads,
                kvHeads,
                headSize,
                slidingWindow,
                dmsWindow,
                DmsRule.REFERENCE,
                Rotary.none(Math.max(headSize, 0)));
    }

    public KvShape {
        java.util.Objects.requireNonNull(dmsRule, "dmsRule");
        java.util.Objects.requireNonNull(rotary, "rotary");
        if (layers <= 0 || heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0 || headSize <= 0) {
            throw new IllegalArgumentException("a KV shape needs positive layers, heads and head size, and KV heads"
                    + " dividing the heads: " + layers + " layers, " + heads + " heads, " + kvHeads
                    + " KV heads, head size "
                    + headSize);
        }
        if (rotary.pairs() != headSize / 2) {
            throw new IllegalArgumentException("a KV shape's rotary embedding needs headSize/2 = " + headSize / 2
                    + " pairs, not " + rotary.pairs());
        }
        if (slidingWindow < 0 || dmsWindow < -1) {
            throw new IllegalArgumentException(
                    "sliding window must be >= 0 and DMS window >= -1: " + slidingWindow + ", " + dmsWindow);
        }
    }

    /** Whether the model makes DMS decisions. */
    public boolean hasDms() {
        return dmsWindow >= 0;
    }

    /** Query heads sharing one KV head. */
    public int groupSize() {
        return heads / kvHeads;
    }

    /** Floats of one token's keys (or values) over all KV heads of a layer. */
    public int kvDim() {
        return kvHeads * headSize;
    }

    /** Floats of one token's queries over all heads of a layer. */
    public int qDim() {
        return heads * headSize;
    }

    /**
     * Blocks of {@code blockSize} tokens a paged cache takes to hold {@code tokens} tokens in every (layer, KV head):
     * the one count that admission, evaluation pools and the savings report all charge.
     */
    public long blocksFor(long tokens, int blockSize) {
        return (long) layers * kvHeads * ((tokens + blockSize - 1) / blockSize);
    }

    /** Bytes of the blocks of {@link #blocksFor}, in elements of {@code type}. */
    public long blockBytesFor(long tokens, int blockSize, KvType type) {
        return blocksFor(tokens, blockSize) * BlockPool.blockBytes(headSize, blockSize, type);
    }
}
