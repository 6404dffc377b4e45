package dev.kvslim.core.model;

import dev.kvslim.core.kv.DmsRule;
import dev.kvslim.core.kv.KvShape;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.kv.Rotary;

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
 * @param ropeScaling   Llama 3.1 frequency scaling of RoPE, or null
 * @param slidingWindow each query sees only the last this-many positions (itself included); 0 for all
 * @param ropeFactors   per-pair divisors of the RoPE frequencies (llama.cpp's {@code rope_freqs}), or null
 * @param dms           the model's learned KV eviction, or null
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
        boolean tiedEmbeddings,
        RopeScaling ropeScaling,
        int slidingWindow,
        float[] ropeFactors,
        DmsConfig dms) {

    /** This configuration with DMS settings {@code dms} (null: none). */
    public LlamaConfig withDms(DmsConfig dms) {
        return new LlamaConfig(
                architecture,
                dim,
                hiddenDim,
                layers,
                heads,
                kvHeads,
                headSize,
                vocabSize,
                contextLength,
                normEps,
                ropeTheta,
                ropeStyle,
                tiedEmbeddings,
                ropeScaling,
                slidingWindow,
                ropeFactors,
                dms);
    }

    /**
     * Divisors of the RoPE frequencies equal to {@link #ropeScaling}: what llama.cpp's converter stores as
     * {@code rope_freqs.weight}.
     */
    public float[] ropeScalingAsFactors() {
        float[] base = toBuilder().ropeScaling(null).ropeFactors(null).build().ropeFrequencies();
        float[] scaled = ropeFrequencies();
        float[] factors = new float[base.length];
        for (int i = 0; i < base.length; i++) {
            factors[i] = base[i] / scaled[i];
        }
        return factors;
    }

    /** Llama 3.1's RoPE scaling ({@code rope_type: llama3} in config.json). */
    public record RopeScaling(float factor, float lowFreqFactor, float highFreqFactor, int originalContextLength) {
        public RopeScaling {
            if (!(factor > 0)
                    || !(lowFreqFactor > 0)
                    || !(highFreqFactor > lowFreqFactor)
                    || originalContextLength <= 0) {
                throw new IllegalArgumentException("invalid llama3 rope scaling: factor " + factor + ", low "
                        + lowFreqFactor + ", high " + highFreqFactor + ", original context " + originalContextLength);
            }
        }
    }

    public LlamaConfig {
        require(dim > 0, "dim must be positive, got " + dim);
        require(hiddenDim > 0, "hidden_dim must be positive, got " + hiddenDim);
        require(layers > 0, "layer count must be positive, got " + layers);
        require(heads > 0, "head count must be positive, got " + heads);
        require(
                kvHeads > 0 && kvHeads <= heads && heads % kvHeads == 0,
                "KV heads (" + kvHeads + ") must divide the query heads (" + heads + ")");
        require(headSize > 0 && headSize % 2 == 0, "head size must be positive and even, got " + headSize);
        require(vocabSize > 0, "vocabulary size must be positive, got " + vocabSize);
        require(contextLength > 0, "context length must be positive, got " + contextLength);
        require(normEps > 0 && Float.isFinite(normEps), "norm epsilon must be positive, got " + normEps);
        require(ropeTheta > 0 && Float.isFinite(ropeTheta), "RoPE theta must be positive, got " + ropeTheta);
        require(slidingWindow >= 0, "sliding window must be >= 0, got " + slidingWindow);
        require(ropeFactors == null || ropeScaling == null, "RoPE scaling and RoPE factors exclude each other");
        require(
                ropeFactors == null || ropeFactors.length == headSize / 2,
                "RoPE factors must number headSize / 2 = " + headSize / 2);
    }

    /**
     * RoPE inverse frequencies, one per channel pair: {@code theta^(-2i/headSize)}, scaled as Llama 3.1 does
     * (transformers' {@code _compute_llama3_parameters}) when {@link #ropeScaling} is set, divided by
     * {@link #ropeFactors} when those are given instead.
     */
    public float[] ropeFrequencies() {
        int half = headSize / 2;
        float[] freq = new float[half];
        for (int i = 0; i < half; i++) {
            double inv = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headSize);
            if (ropeScaling != null) {
                RopeScaling s = ropeScaling;
                double lowWavelen = s.originalContextLength() / (double) s.lowFreqFactor();
                double highWavelen = s.originalContextLength() / (double) s.highFreqFactor();
                double wavelen = 2 * Math.PI / inv;
                if (wavelen > lowWavelen) {
                    inv = inv / s.factor();
                } else if (wavelen >= highWavelen) {
                    double smooth = (s.originalContextLength() / wavelen - s.lowFreqFactor())
                            / (s.highFreqFactor() - s.lowFreqFactor());
                    inv = (1 - smooth) * inv / s.factor() + smooth * inv;
                }
            }
            if (ropeFactors != null) {
                inv = inv / ropeFactors[i];
            }
            freq[i] = (float) inv;
        }
        return freq;
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

    /** What a KV cache needs to know of this model. */
    public KvShape kvShape() {
        return new KvShape(
                layers,
                heads,
                kvHeads,
                headSize,
                slidingWindow,
                dms == null ? -1 : dms.window(),
                dms == null ? DmsRule.REFERENCE : dms.rule(),
                new Rotary(ropeFrequencies(), ropeStyle == RopeStyle.INTERLEAVED));
    }

    /** Bytes of keys and values one token adds to a cache that keeps every token, stored as {@code type}. */
    public long kvBytesPerToken(KvType type) {
        return 2L * layers * kvHeads * type.vectorBytes(headSize);
    }

    /** A builder with every field unset but the defaults {@link Builder} names. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration's fields. */
    public Builder toBuilder() {
        return new Builder()
                .architecture(architecture)
                .dim(dim)
                .hiddenDim(hiddenDim)
                .layers(layers)
                .heads(heads)
                .kvHeads(kvHeads)
                .headSize(headSize)
                .vocabSize(vocabSize)
                .contextLength(contextLength)
                .normEps(normEps)
                .ropeTheta(ropeTheta)
                .ropeStyle(ropeStyle)
                .tiedEmbeddings(tiedEmbeddings)
                .ropeScaling(ropeScaling)
                .slidingWindow(slidingWindow)
                .ropeFactors(ropeFactors)
                .dms(dms);
    }

    /**
     * Builds a configuration field by field. Defaults: architecture "llama", KV heads = heads, head size = dim / heads,
     * norm epsilon 1e-5, RoPE theta 10000, {@link RopeStyle#HALF}, untied embeddings, no RoPE scaling or factors, no
     * sliding window, no DMS. The sizes (dim, hidden dim, layers, heads, vocabulary, context) have none.
     */
    public static final class Builder {
        private String architecture = "llama";
        private int dim;
        private int hiddenDim;
        private int layers;
        private int heads;
        private int kvHeads;
        private int headSize;
        private int vocabSize;
        private int contextLength;
        private float normEps = 1e-5f;
        private float ropeTheta = 10000f;
        private RopeStyle ropeStyle = RopeStyle.HALF;
        private boolean tiedEmbeddings;
        private RopeScaling ropeScaling;
        private int slidingWindow;
        private float[] ropeFactors;
        private DmsConfig dms;

        private Builder() {}

        public Builder architecture(String value) {
            architecture = value;
            return this;
        }

        public Builder dim(int value) {
            dim = value;
            return this;
        }

        public Builder hiddenDim(int value) {
            hiddenDim = value;
            return this;
        }

        public Builder layers(int value) {
            layers = value;
            return this;
        }

        public Builder heads(int value) {
            heads = value;
            return this;
        }

        public Builder kvHeads(int value) {
            kvHeads = value;
            return this;
        }

        public Builder headSize(int value) {
            headSize = value;
            return this;
        }

        public Builder vocabSize(int value) {
            vocabSize = value;
            return this;
        }

        public Builder contextLength(int value) {
            contextLength = value;
            return this;
        }

        public Builder normEps(float value) {
            normEps = value;
            return this;
        }

        public Builder ropeTheta(float value) {
            ropeTheta = value;
            return this;
        }

        public Builder ropeStyle(RopeStyle value) {
            ropeStyle = value;
            return this;
        }

        public Builder tiedEmbeddings(boolean value) {
            tiedEmbeddings = value;
            return this;
        }

        public Builder ropeScaling(RopeScaling value) {
            ropeScaling = value;
            return this;
        }

        public Builder slidingWindow(int value) {
            slidingWindow = value;
            return this;
        }

        public Builder ropeFactors(float[] value) {
            ropeFactors = value;
            return this;
        }

        public Builder dms(DmsConfig value) {
            dms = value;
            return this;
        }

        /** The configuration, checked as the record's constructor checks it. */
        public LlamaConfig build() {
            int kv = kvHeads > 0 ? kvHeads : heads;
            int hs = headSize > 0 ? headSize : heads > 0 ? dim / heads : 0;
            return new LlamaConfig(
                    architecture,
                    dim,
                    hiddenDim,
                    layers,
                    heads,
                    kv,
                    hs,
                    vocabSize,
                    contextLength,
                    normEps,
                    ropeTheta,
                    ropeStyle,
                    tiedEmbeddings,
                    ropeScaling,
                    slidingWindow,
                    ropeFactors,
                    dms);
        }
    }
}
