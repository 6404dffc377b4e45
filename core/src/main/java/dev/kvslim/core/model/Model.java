package dev.kvslim.core.model;

import dev.kvslim.core.kv.DenseKvCache;
import dev.kvslim.core.kv.DmsRule;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.Kernels;
import dev.kvslim.core.tensor.MatmulScratch;
import dev.kvslim.core.tensor.Parallel;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A Llama-family decoder: configuration plus weights, and the forward pass over a {@link KvCache}.
 * <p>{@link #forward} follows llama2.c's {@code forward()} statement for statement, over a batch of tokens:
 * prompt tokens go through every matrix together (matrix-matrix), a decode step is a batch of one. All
 * scratch lives in a {@link State}; the pass itself allocates nothing.
 * <p>{@link #forward(State, List)} runs several sequences in one pass, as a server's continuous batching does:
 * the tokens of all of them go through every matrix together, and each sequence attends over its own cache at its
 * own positions. A sequence in a batch gets the logits it would get alone up to float rounding: a batch of more than
 * {@link FloatTensor#SMALL_BATCH} tokens runs its matrices as matrix-matrix products (Java's or oneDNN's), while a
 * lone decode step, and each token of a smaller batch, runs them as dot products, which sum in another order.
 */
public final class Model {

    private final LlamaConfig config;
    private final LlamaWeights weights;
    private final float[] ropeFreq;
    /** Per layer the matrices that multiply the same input: query, key and value; gate and up. */
    private final FloatTensor[][] qkv;

    private final FloatTensor[][] gateUp;

    public Model(LlamaConfig config, LlamaWeights weights) {
        weights.validate(config);
        this.config = config;
        this.weights = weights;
        this.ropeFreq = config.ropeFrequencies();
        this.qkv = new FloatTensor[config.layers()][];
        this.gateUp = new FloatTensor[config.layers()][];
        for (int l = 0; l < config.layers(); l++) {
            qkv[l] = new FloatTensor[] {weights.wq()[l], weights.wk()[l], weights.wv()[l]};
            gateUp[l] = new FloatTensor[] {weights.w1()[l], weights.w3()[l]};
        }
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
        return new DenseKvCache(config.kvShape(), capacity);
    }

    /**
     * One sequence's part of a batched {@link #forward(State, List)}: tokens {@code tokens[off .. off+len)} at
     * positions {@code position ..}, with keys and values going to {@code cache} (one cache per sequence).
     */
    public record Chunk(KvCache cache, int[] tokens, int off, int len, int position) {

        public Chunk {
            Objects.requireNonNull(cache, "cache");
            Objects.requireNonNull(tokens, "tokens");
            if (len <= 0 || off < 0 || off + len > tokens.length) {
                throw new IllegalArgumentException("a chunk needs 1 or more tokens within its array: off " + off
                        + ", len " + len + ", array of " + tokens.length);
            }
        }
    }

    /** Everything one batch's forward passes write, sized once. */
    public static final class State {
        final int maxBatch;
        final float[] x, xb, xb2, q, k, v, att, hb, hb2;
        /** The outputs of {@link #qkv} and {@link #gateUp}, in their order. */
        final float[][] qkvOut, gateUpOut;

        final float[] ropeCos, ropeSin;
        final float[] decisions, dmsInput;
        final MatmulScratch matmul;
        private float[][] attScratch = new float[0][];
        /** Logits of the last token of the latest {@link #forward} call. */
        public final float[] logits;

        private float[][] layerOutputs;
        // the batch being run: sequence i has tokens [chunkStart[i], chunkStart[i+1]) of the batch
        private KvCache[] chunkCache = new KvCache[1];
        private int[] chunkStart = new int[2];
        private int[] chunkPosition = new int[1];
        private int chunks;
        final int[] tokenChunk;
        final int[] tokenPosition;
        // attention tiles of the batch: tile i is tokens [tileStart[i], tileStart[i+1]), all of one sequence
        final int[] tileStart;
        private float[] batchLogits = new float[0];
        private float[][] chunkLogitViews = new float[0][];

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
            qkvOut = new float[][] {q, k, v};
            gateUpOut = new float[][] {hb, hb2};
            decisions = new float[c.dms() != null ? maxBatch * c.kvHeads() : 0];
            dmsInput = new float[c.dms() != null ? c.dim() : 0];
            ropeCos = new float[maxBatch * c.headSize() / 2];
            ropeSin = new float[maxBatch * c.headSize() / 2];
            int widest = Math.max(Math.max(c.dim(), c.hiddenDim()), c.qDim());
            matmul = new MatmulScratch(widest, maxBatch);
            logits = new float[c.vocabSize()];
            tokenChunk = new int[maxBatch];
            tokenPosition = new int[maxBatch];
            tileStart = new int[maxBatch + 1];
        }

        private void setChunks(int count) {
            if (chunkCache.length < count) {
                chunkCache = new KvCache[count];
                chunkStart = new int[count + 1];
                chunkPosition = new int[count];
            }
            chunks = count;
        }

        private void setChunk(int i, KvCache cache, int start, int len, int position) {
            chunkCache[i] = cache;
            chunkStart[i] = start;
            chunkStart[i + 1] = start + len;
            chunkPosition[i] = position;
            for (int t = start; t < start + len; t++) {
                tokenChunk[t] = i;
                tokenPosition[t] = position + t - start;
            }
        }

        /** Rows of {@code vocabSize} logits, one per sequence of a batch, reused from call to call. */
        private float[][] chunkLogits(int count, int vocab) {
            if (chunkLogitViews.length < count) {
                batchLogits = new float[count * vocab];
                chunkLogitViews = new float[count][];
                for (int i = 0; i < count; i++) {
                    chunkLogitViews[i] = new float[vocab];
                }
            }
            return chunkLogitViews;
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
                throw new IllegalArgumentException(
                        "token id " + tokens[i] + " outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
        for (int done = 0; done < len; done += state.maxBatch) {
            int n = Math.min(state.maxBatch, len - done);
            state.setChunks(1);
            state.setChunk(0, cache, 0, n, position + done);
            cache.reserve(n);
            for (int t = 0; t < n; t++) {
                weights.tokenEmbedding().copyRow(tokens[off + done + t], state.x, t * config.dim());
            }
            run(state, n);
            if (done + n == len) {
                int last = (n - 1) * config.dim();
                Kernels.rmsnorm(state.xb, 0, state.x, last, weights.finalNorm(), config.dim(), config.normEps());
                weights.classifier().matmul(state.xb, 1, state.logits, state.matmul);
            }
        }
        return state.logits;
    }

    /**
     * Runs one chunk of each of several sequences in one pass and returns the logits of each chunk's last token,
     * in chunk order: rows owned by {@code state}, overwritten by its next call. The chunks' tokens together must
     * fit {@code state}'s batch, and their caches must be distinct (a sequence has one chunk per batch). Every
     * cache is {@linkplain KvCache#reserve reserved} before anything is stored; caches that draw on one
     * {@link dev.kvslim.core.kv.BlockPool} are checked one by one, so a caller batching such caches checks that
     * their blocks fit together (a {@link dev.kvslim.core.kv.KvCacheFullException} from a later store would leave
     * earlier layers of the batch stored).
     */
    public float[][] forward(State state, List<Chunk> batch) {
        int total = 0;
        for (int i = 0; i < batch.size(); i++) {
            Chunk chunk = batch.get(i);
            total += chunk.len();
            if (chunk.position() < 0
                    || chunk.position() + chunk.len() > chunk.cache().capacity()) {
                throw new IllegalArgumentException("sequence " + i + ": positions " + chunk.position() + ".."
                        + (chunk.position() + chunk.len() - 1) + " do not fit its KV cache capacity "
                        + chunk.cache().capacity());
            }
            for (int t = chunk.off(); t < chunk.off() + chunk.len(); t++) {
                if (chunk.tokens()[t] < 0 || chunk.tokens()[t] >= config.vocabSize()) {
                    throw new IllegalArgumentException("sequence " + i + ": token id " + chunk.tokens()[t]
                            + " outside the vocabulary [0, " + config.vocabSize() + ")");
                }
            }
            for (int j = 0; j < i; j++) {
                if (batch.get(j).cache() == chunk.cache()) {
                    throw new IllegalArgumentException("sequences " + j + " and " + i + " share one KV cache");
                }
            }
        }
        if (batch.isEmpty() || total > state.maxBatch) {
            throw new IllegalArgumentException(
                    "a batch needs 1 to " + state.maxBatch + " tokens (the state's size), got " + total);
        }
        for (Chunk chunk : batch) {
            chunk.cache().reserve(chunk.len());
        }
        int dim = config.dim(), vocab = config.vocabSize();
        state.setChunks(batch.size());
        for (int i = 0, start = 0; i < batch.size(); i++) {
            Chunk chunk = batch.get(i);
            state.setChunk(i, chunk.cache(), start, chunk.len(), chunk.position());
            for (int t = 0; t < chunk.len(); t++) {
                weights.tokenEmbedding().copyRow(chunk.tokens()[chunk.off() + t], state.x, (start + t) * dim);
            }
            start += chunk.len();
        }
        run(state, total);
        int count = batch.size();
        float[][] rows = state.chunkLogits(count, vocab);
        for (int i = 0; i < count; i++) {
            int last = (state.chunkStart[i + 1] - 1) * dim;
            Kernels.rmsnorm(state.xb, i * dim, state.x, last, weights.finalNorm(), dim, config.normEps());
        }
        float[] out = count == 1 ? rows[0] : state.batchLogits;
        weights.classifier().matmul(state.xb, count, out, state.matmul);
        if (count > 1) {
            for (int i = 0; i < count; i++) {
                System.arraycopy(state.batchLogits, i * vocab, rows[i], 0, vocab);
            }
        }
        return Arrays.copyOf(rows, count);
    }

    /** The layers over the {@code n} embedded tokens in {@code s.x}, of the chunks set in {@code s}. */
    private void run(State s, int n) {
        LlamaConfig c = config;
        DmsConfig dms = c.dms();
        LlamaWeights w = weights;
        int dim = c.dim(), qDim = c.qDim(), kvDim = c.kvDim(), hidden = c.hiddenDim(), hs = c.headSize();

        int scratchSize = 0;
        int lastPosition = 0;
        for (int i = 0; i < s.chunks; i++) {
            scratchSize = Math.max(scratchSize, s.chunkCache[i].scratchSize());
            lastPosition = Math.max(lastPosition, s.chunkPosition[i] + s.chunkStart[i + 1] - s.chunkStart[i]);
        }
        for (int t = 0; t < n; t++) {
            ropeAngles(s, t, s.tokenPosition[t]);
        }
        float[][] attScratch = s.attentionScratch(scratchSize);
        int tiles = tiles(s);

        for (int l = 0; l < c.layers(); l++) {
            if (dms != null && dms.variant() == DmsConfig.Variant.ADAPTER) {
                adapterDecisions(s, l, n);
            }
            // attention rmsnorm, then q, k, v for every token of the batch
            for (int t = 0; t < n; t++) {
                Kernels.rmsnorm(s.xb, t * dim, s.x, t * dim, w.attnNorm()[l], dim, c.normEps());
            }
            FloatTensor.matmulEach(qkv[l], s.xb, n, s.qkvOut, s.matmul);

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
                if (channel && dms.rule() == DmsRule.REFERENCE) {
                    DmsDecisions.zeroQueryChannels(s.q, t * qDim, c);
                }
                rope(s, t, s.k, t * kvDim, c.kvHeads());
            }
            if (dms != null && dms.perLayer()) {
                for (int t = 0; t < n; t++) {
                    Arrays.fill(s.decisions, t * c.kvHeads() + 1, (t + 1) * c.kvHeads(), s.decisions[t * c.kvHeads()]);
                }
            }
            for (int i = 0; i < s.chunks; i++) {
                int len = s.chunkStart[i + 1] - s.chunkStart[i];
                s.chunkCache[i].store(
                        l, s.chunkPosition[i], len, s.k, s.v, dms != null ? s.decisions : null, s.chunkStart[i]);
            }

            // attention: every (tile of a chunk's tokens, KV head) pair on its own, for the query heads of its group
            // together; a tile is up to KvCache.TILE consecutive tokens of one sequence
            int layer = l;
            int kvHeads = c.kvHeads();
            int group = c.groupSize();
            long work = (long) lastPosition * hs * 2 * group * Math.max(1, n / tiles);
            Parallel.forRange(tiles * kvHeads, Parallel.grain(work), (worker, start, end) -> {
                float[] scratch = attScratch[worker];
                for (int i = start; i < end; i++) {
                    int t = s.tileStart[i / kvHeads], kvh = i % kvHeads;
                    int count = s.tileStart[i / kvHeads + 1] - t;
                    int at = t * qDim + kvh * group * hs;
                    s.chunkCache[s.tokenChunk[t]].attendTile(
                            layer, s.tokenPosition[t], count, kvh, s.q, at, qDim, group, s.att, at, qDim, scratch);
                }
            });

            for (int i = 0; i < s.chunks; i++) {
                s.chunkCache[i].afterAttention(l, s.chunkPosition[i] + s.chunkStart[i + 1] - s.chunkStart[i] - 1);
            }

            // output projection and residual
            w.wo()[l].matmul(s.att, n, s.xb2, s.matmul);
            Kernels.add(s.xb2, 0, s.x, 0, n * dim);

            // feed-forward: w2(silu(w1(x)) * w3(x)), and residual
            for (int t = 0; t < n; t++) {
                Kernels.rmsnorm(s.xb, t * dim, s.x, t * dim, w.ffnNorm()[l], dim, c.normEps());
            }
            FloatTensor.matmulEach(gateUp[l], s.xb, n, s.gateUpOut, s.matmul);
            Kernels.swiglu(s.hb, 0, s.hb2, 0, n * hidden);
            w.w2()[l].matmul(s.hb, n, s.xb2, s.matmul);
            Kernels.add(s.xb2, 0, s.x, 0, n * dim);
            if (s.layerOutputs != null) {
                System.arraycopy(s.x, 0, s.layerOutputs[l], 0, n * dim);
            }
        }
    }

    /** Splits the batch's sequences into tiles of up to {@link KvCache#TILE} tokens; returns how many. */
    private static int tiles(State s) {
        int tiles = 0;
        for (int i = 0; i < s.chunks; i++) {
            for (int t = s.chunkStart[i]; t < s.chunkStart[i + 1]; t += KvCache.TILE) {
                s.tileStart[tiles++] = t;
            }
        }
        s.tileStart[tiles] = s.chunkStart[s.chunks];
        return tiles;
    }

    private void adapterDecisions(State s, int l, int n) {
        for (int t = 0; t < n; t++) {
            DmsDecisions.fromAdapter(
                    s.x,
                    t * config.dim(),
                    weights.dmsNorm()[l],
                    weights.dmsProj()[l],
                    config,
                    s.dmsInput,
                    s.decisions,
                    t * config.kvHeads());
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
