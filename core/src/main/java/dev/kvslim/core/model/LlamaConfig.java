package dev.kvslim.core.model;

/**
 * Hyper-parameters of a Llama-family decoder.
 *
 * @param architecture  name as the file gives it (e.g. "llama")
 * @param dim           hidden size
 * @param hiddenDim     feed-forward inner size
 * @param layers        decoder blocks
 * @param heads         query heads
 * @param kvHeads       key/value heads (GQA when fewer than {@code heads})
 * @param headSize      channels per head
 * @param vocabSize     tokens
 * @param contextLength positions the model was trained for
 * @param normEps       RMSNorm epsilon
 * @param ropeTheta     RoPE base frequency
 * @param ropeStyle     channel pairing of RoPE
 * @param tiedEmbeddings classifier shares the token embedding
 */
public record LlamaConfig(
        String architecture,
        int dim,
        int hiddenDim,
        int layers,
        int heads,
        int kvHeads,
        int headSize,
        int vocabSize,
        int contextLength,
        float normEps,
        float ropeTheta,
        RopeStyle ropeStyle,
        boolean tiedEmbeddings) {

    public LlamaConfig {
        require(dim > 0, "dim must be positive, got " + dim);
        require(hiddenDim > 0, "hidden_dim must be positive, got " + hiddenDim);
        require(layers > 0, "layer count must be positive, got " + layers);
        require(heads > 0, "head count must be positive, got " + heads);
        require(kvHeads > 0 && kvHeads <= heads && heads % kvHeads == 0,
                "KV heads (" + kvHeads + ") must divide the query heads (" + heads + ")");
        require(headSize > 0 && headSize % 2 == 0, "head size must be positive and even, got " + headSize);
        require(vocabSize > 0, "vocabulary size must be positive, got " + vocabSize);
        require(contextLength > 0, "context length must be positive, got " + contextLength);
        require(normEps > 0 && Float.isFinite(normEps), "norm epsilon must be positive, got " + normEps);
        require(ropeTheta > 0 && Float.isFinite(ropeTheta), "RoPE theta must be positive, got " + ropeTheta);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    public int qDim() {
        return heads * headSize;
    }

    public int kvDim() {
        return kvHeads * headSize;
    }

    /** Query heads sharing one KV head. */
    public int groupSize() {
        return heads / kvHeads;
    }

    /** Bytes of F32 keys and values one token adds to a dense cache. */
    public long kvBytesPerToken(int bytesPerValue) {
        return 2L * layers * kvDim() * bytesPerValue;
    }
}
