package dev.kvslim.core.model;

import dev.kvslim.core.kv.DenseKvCache;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.Kernels;
import dev.kvslim.core.tensor.MatmulScratch;
import dev.kvslim.core.tensor.Parallel;
import java.util.Arrays;

/**
 * A Llama-family decoder: configuration plus weights, and the forward pass over a {@link KvCache}.
 * <p>{@link #forward} follows llama2.c's {@code forward()} statement for statement, over a batch of tokens:
 * prompt tokens go through every matrix together (matrix-matrix), a decode step is a batch of one. All
 * scratch lives in a {@link State}; the pass itself allocates nothing.
 */
public final class Model {

    private final LlamaConfig config;
    private final LlamaWeights weights;
    private final float[] ropeFreq;

    public Model(LlamaConfig config, LlamaWeights weights) {
        weights.validate(config);
        this.config = config;
        this.weights = weights;
        this.ropeFreq = config.ropeFrequencies();
    }

    public LlamaConfig config() {
        return config;
    }

    public LlamaWeights weights() {
        return weights;
    }

    /** Scratch for up to {@code maxBatch} tokens per call of {@link #forward}. */
    public State newState(int maxBatch) {
        return new State(config, maxBatch);
    }

    /** The uncompressed cache, sized for {@code capacity} positions. */
    public KvCache newDenseCache(int capacity) {
        return new DenseKvCache(config, capacity);
    }

    /** Everything one sequence's forward passes write, sized once. */
    public static final class State {
        final int maxBatch;
        final float[] x, xb, xb2, q, k, v, att, hb, hb2;
        final float[] ropeCos, ropeSin;
        final float[] decisions, dmsInput;
        final MatmulScratch matmul;
        private float[][] attScratch = new float[0][];
        /** Logits of the last token of the latest {@link #forward} call. */
        public final float[] logits;
        private float[][] layerOutputs;

        State(LlamaConfig c, int maxBatch) {
            if (maxBatch <= 0) {
                throw new IllegalArgumentException("batch must be positive, got " + maxBatch);
            }
            this.maxBatch = maxBatch;
            x = new float[maxBatch * c.dim()];
            xb = new float[maxBatch * Math.max(c.dim(), c.qDim())];
            xb2 = new float[maxBatch * c.dim()];
            q = new float[maxBatch * c.qDim()];
            k = new float[maxBatch * c.kvDim()];
            v = new float[maxBatch * c.kvDim()];
            att = new float[maxBatch * c.qDim()];
            hb = new float[maxBatch * c.hiddenDim()];
            hb2 = new float[maxBatch * c.hiddenDim()];
            decisions = new float[c.dms() != null ? maxBatch * c.kvHeads() : 0];
            dmsInput = new float[c.dms() != null ? c.dim() : 0];
            ropeCos = new float[maxBatch * c.headSize() / 2];
            ropeSin = new float[maxBatch * c.headSize() / 2];
            int widest = Math.max(Math.max(c.dim(), c.hiddenDim()), c.qDim());
            matmul = new MatmulScratch(widest, maxBatch);
            logits = new float[c.vocabSize()];
        }

        public int maxBatch() {
            return maxBatch;
        }

        /**
         * Keeps the residual stream after every layer of the next batches ({@code [layer][token * dim + i]} of
         * the latest batch), for comparing against reference implementations layer by layer.
         */
        public void captureLayers(int layers) {
            layerOutputs = new float[layers][x.length];
        }

        /** The residual streams kept by {@link #captureLayers}, or null. */
        public float[][] layerOutputs() {
            return layerOutputs;
        }

        float[][] attentionScratch(int size) {
            if (attScratch.length == 0 || attScratch[0].length < size) {
                attScratch = new float[Parallel.threads()][size];
            }
            return attScratch;
        }
    }

    /**
     * Runs {@code tokens[off .. off+len)} at positions {@code position ..}, storing their keys and values in
     * {@code cache}, and returns the logits of the last one (in {@code state.logits}).
     */
    public float[] forward(State state, int[] tokens, int off, int len, int position, KvCache cache) {
        if (len <= 0) {
            throw new IllegalArgumentException("forward needs at least one token");
        }
        if (position < 0 || position + len > cache.capacity()) {
            throw new IllegalArgumentException("positions " + position + ".." + (position + len - 1)
                    + " do not fit the KV cache capacity " + cache.capacity());
        }
        for (int i = off; i < off + len; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + tokens[i] + " outside the vocabulary [0, "
                        + config.vocabSize() + ")");
            }
        }
        for (int done = 0; done < len; done += state.maxBatch) {
            int n = Math.min(state.maxBatch, len - done);
            forwardBatch(state, tokens, off + done, n, position + done, cache, done + n == len);
        }
        return state.logits;
    }

    private void forwardBatch(State s, int[] tokens, int off, int n, int pos0, KvCache cache, boolean logits) {
        LlamaConfig c = config;
        DmsConfig dms = c.dms();
        LlamaWeights w = weights;
        int dim = c.dim(), qDim = c.qDim(), kvDim = c.kvDim(), hidden = c.hiddenDim(), hs = c.headSize();

        cache.reserve(n);
        for (int t = 0; t < n; t++) {
            w.tokenEmbedding().copyRow(tokens[off + t], s.x, t * dim);
            ropeAngles(s, t, pos0 + t);
        }
        float[][] attScratch = s.attentionScratch(cache.scratchSize());

        for (int l = 0; l < c.layers(); l++) {
            if (dms != null && dms.variant() == DmsConfig.Variant.ADAPTER) {
                adapterDecisions(s, l, n);
            }
            // attention rmsnorm, then q, k, v for every token of the batch
            for (int t = 0; t < n; t++) {
                Kernels.rmsnorm(s.xb, t * dim, s.x, t * dim, w.attnNorm()[l], dim, c.normEps());
            }
            w.wq()[l].matmul(s.xb, n, s.q, s.matmul);
            w.wk()[l].matmul(s.xb, n, s.k, s.matmul);
            w.wv()[l].matmul(s.xb, n, s.v, s.matmul);

            for (int t = 0; t < n; t++) {
                addBias(w.qBias(), l, s.q, t * qDim, qDim);
                addBias(w.kBias(), l, s.k, t * kvDim, kvDim);
                addBias(w.vBias(), l, s.v, t * kvDim, kvDim);
                if (w.qNorm() != null) {
                    for (int h = 0; h < c.heads(); h++) {
                        int at = t * qDim + h * hs;
                        Kernels.rmsnorm(s.q, at, s.q, at, w.qNorm()[l], hs, c.normEps());
                    }
                    for (int h = 0; h < c.kvHeads(); h++) {
                        int at = t * kvDim + h * hs;
                        Kernels.rmsnorm(s.k, at, s.k, at, w.kNorm()[l], hs, c.normEps());
                    }
                }
                boolean channel = dms != null && dms.variant() == DmsConfig.Variant.QUERY_CHANNEL;
                if (channel) {
                    DmsDecisions.fromQueryChannel(s.q, t * qDim, c, s.decisions, t * c.kvHeads());
                }
                rope(s, t, s.q, t * qDim, c.heads());
                if (channel) {
                    DmsDecisions.zeroQueryChannels(s.q, t * qDim, c);
                }
                rope(s, t, s.k, t * kvDim, c.kvHeads());
            }
            if (dms != null && dms.perLayer()) {
                for (int t = 0; t < n; t++) {
                    Arrays.fill(s.decisions, t * c.kvHeads() + 1, (t + 1) * c.kvHeads(), s.decisions[t * c.kvHeads()]);
                }
            }
            cache.store(l, pos0, n, s.k, s.v, dms != null ? s.decisions : null);

            // attention: every (token, KV head) pair on its own, for the query heads of its group together
            int layer = l;
            int kvHeads = c.kvHeads();
            int group = c.groupSize();
            long work = (long) (pos0 + n) * hs * 2 * group;
            Parallel.forRange(n * kvHeads, Parallel.grain(work), (worker, start, end) -> {
                float[] scratch = attScratch[worker];
                for (int i = start; i < end; i++) {
                    int t = i / kvHeads, kvh = i % kvHeads;
                    int at = t * qDim + kvh * group * hs;
                    cache.attend(layer, pos0 + t, kvh, s.q, at, group, s.att, at, scratch);
                }
            });

            cache.afterAttention(l, pos0 + n - 1);

            // output projection and residual
            w.wo()[l].matmul(s.att, n, s.xb2, s.matmul);
            Kernels.add(s.xb2, 0, s.x, 0, n * dim);

            // feed-forward: w2(silu(w1(x)) * w3(x)), and residual
            for (int t = 0; t < n; t++) {
                Kernels.rmsnorm(s.xb, t * dim, s.x, t * dim, w.ffnNorm()[l], dim, c.normEps());
            }
            w.w1()[l].matmul(s.xb, n, s.hb, s.matmul);
            w.w3()[l].matmul(s.xb, n, s.hb2, s.matmul);
            Kernels.swiglu(s.hb, 0, s.hb2, 0, n * hidden);
            w.w2()[l].matmul(s.hb, n, s.xb2, s.matmul);
            Kernels.add(s.xb2, 0, s.x, 0, n * dim);
            if (s.layerOutputs != null) {
                System.arraycopy(s.x, 0, s.layerOutputs[l], 0, n * dim);
            }
        }

        if (logits) {
            int last = (n - 1) * dim;
            Kernels.rmsnorm(s.xb, 0, s.x, last, w.finalNorm(), dim, c.normEps());
            w.classifier().matmul(s.xb, 1, s.logits, s.matmul);
        }
    }

    private void adapterDecisions(State s, int l, int n) {
        for (int t = 0; t < n; t++) {
            DmsDecisions.fromAdapter(s.x, t * config.dim(), weights.dmsNorm()[l], weights.dmsProj()[l], config, s.dmsInput,
                    s.decisions, t * config.kvHeads());
        }
    }

    private static void addBias(float[][] bias, int layer, float[] out, int off, int n) {
        if (bias != null) {
            Kernels.add(bias[layer], 0, out, off, n);
        }
    }

    private void ropeAngles(State s, int t, int position) {
        int half = config.headSize() / 2;
        for (int i = 0; i < half; i++) {
            double angle = (double) position * ropeFreq[i];
            s.ropeCos[t * half + i] = (float) Math.cos(angle);
            s.ropeSin[t * half + i] = (float) Math.sin(angle);
        }
    }

    /** Rotates {@code heads} consecutive heads of {@code vec} starting at {@code off} by token t's angles. */
    private void rope(State s, int t, float[] vec, int off, int heads) {
        int half = config.headSize() / 2;
        Rope.rotate(vec, off, heads, config.headSize(), config.ropeStyle(), s.ropeCos, s.ropeSin, t * half);
    }

    /** Parameter count (matrices and norms). */
    public long parameterCount() {
        long n = 0;
        for (FloatTensor t : weights.matrices()) {
            n += t.size();
        }
        return n + (long) config.layers() * 2 * config.dim() + config.dim();
    }
}
