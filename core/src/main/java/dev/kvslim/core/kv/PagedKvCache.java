package dev.kvslim.core.kv;

import dev.kvslim.core.tensor.Kernels;
import dev.kvslim.core.tensor.Parallel;
import java.util.function.UnaryOperator;

/**
 * One sequence's KV cache in paged blocks from a shared {@link BlockPool}: every (layer, KV head) keeps its own
 * tokens in its own block table, so heads can hold different numbers of tokens once DMS or an
 * {@link EvictionPolicy} evicts some. Keys and values are stored in the pool's {@link KvType} (F32, or F16/BF16 at
 * half the bytes); attention is flash-style over the blocks and GQA-aware (a block is read once for all query
 * heads of its group), widening 16-bit elements and computing in float.
 */
public final class PagedKvCache implements KvCache {

    private final KvShape shape;
    private final BlockPool pool;
    private final HeadStore[][] heads;
    private final int capacity;
    private final float scale;
    private final HeadStore.Visibility visibility;
    private final KvCacheSpec.Paged spec;
    private final int dmsWindow;
    // FastDMS's rule: a decision marks its own token, and the prompt is attended densely
    private final boolean marksItself;
    // under FastDMS's rule, until the first decoded token: marks are kept but neither hide nor evict tokens
    private boolean prefilling;
    private final EvictionPolicy prototype; // the spec's policy, shared by every cache of the spec
    private EvictionPolicy policy; // this cache's copy of it
    private final EvictionPolicy[][] policies;
    private final PolicyHeads policyHeads;
    private int replayed = -1; // while a replay runs (KVzip), the positions it scores
    private final Observation[] observations;
    // the queries of the current batch that the policy observes: positions observedFirst.., observedCount of them
    private float[] observed = new float[0];
    private int observedFirst;
    private int observedCount;
    private int batchSize;
    private int length;

    /**
     * A cache keeping every token, for up to {@code capacity} positions of a model shaped {@code shape}, drawing
     * blocks from {@code pool} (whose head size must match the model's).
     */
    public PagedKvCache(KvShape shape, BlockPool pool, int capacity) {
        this(shape, pool, capacity, KvCacheSpec.keepAll());
    }

    /**
     * As above, evicting as {@code spec} says: nothing, the tokens the model's DMS decisions mark (the model must
     * have DMS), or by a training-free policy. {@link KvCacheSpec#newCache} is the usual way to get here.
     */
    public PagedKvCache(KvShape shape, BlockPool pool, int capacity, KvCacheSpec.Paged spec) {
        if (pool.headSize() != shape.headSize()) {
            throw new IllegalArgumentException(
                    "pool head size " + pool.headSize() + " != model head size " + shape.headSize());
        }
        if (pool.blockSize() % Kernels.lanes() != 0) {
            throw new IllegalArgumentException("block size " + pool.blockSize() + " must be a multiple of the "
                    + Kernels.lanes() + "-lane vector width");
        }
        this.shape = shape;
        this.pool = pool;
        this.capacity = capacity;
        this.spec = spec;
        this.scale = (float) (1.0 / Math.sqrt(shape.headSize()));
        this.heads = new HeadStore[shape.layers()][shape.kvHeads()];
        for (HeadStore[] layer : heads) {
            for (int h = 0; h < layer.length; h++) {
                layer[h] = new HeadStore(pool);
            }
        }
        if (spec instanceof KvCacheSpec.Dms && !shape.hasDms()) {
            throw new IllegalArgumentException("the model has no DMS settings: it was not retrofitted with DMS");
        }
        this.dmsWindow = spec instanceof KvCacheSpec.Dms d ? d.window() : -1;
        this.marksItself = spec instanceof KvCacheSpec.Dms d && d.rule() == DmsRule.FASTDMS;
        this.prefilling = marksItself;
        int window = shape.slidingWindow();
        int w = dmsWindow;
        if (marksItself) {
            // FastDMS: as below once decoding; the prompt sees every earlier prompt token
            this.visibility = (key, flag, query) -> key <= query
                    && (flag == 0 || prefilling || query - key <= w)
                    && (window == 0 || query - key < window);
        } else if (dmsWindow >= 0) {
            // DMS: a marked key k is visible to queries k .. k+w, an unmarked one to every later query
            this.visibility = (key, flag, query) ->
                    key <= query && (flag == 0 || query - key <= w) && (window == 0 || query - key < window);
        } else if (window > 0) {
            this.visibility = (key, flag, query) -> key <= query && query - key < window;
        } else {
            this.visibility = HeadStore.Visibility.CAUSAL;
        }
        this.prototype = spec instanceof KvCacheSpec.Evicting e ? e.policy() : null;
        boolean evicting = prototype != null;
        this.policyHeads = evicting ? new Heads() : null;
        this.policies = evicting ? new EvictionPolicy[shape.layers()][shape.kvHeads()] : null;
        this.observations = evicting ? new Observation[Parallel.threads()] : null;
        if (evicting) {
            resetPolicies();
            for (int i = 0; i < observations.length; i++) {
                observations[i] = new Observation(visibility, shape.groupSize(), scale, shape.rotary());
            }
        }
    }

    private void resetPolicies() {
        replayed = -1;
        policy = prototype.forCache(shape);
        for (int l = 0; l < policies.length; l++) {
            for (int h = 0; h < policies[l].length; h++) {
                policies[l][h] = policy.forHead(l, h);
            }
        }
    }

    /** Whether {@link #fork} can copy this cache: not with an eviction policy, whose per-head state is its own. */
    public boolean canFork() {
        return policies == null;
    }

    /**
     * A second cache holding the same tokens, sharing this one's blocks: no key or value is copied now, and a block
     * is copied only when one of the two caches writes to it (copy-on-write, per layer and KV head). For the
     * choices of one request ({@code n} > 1): the prompt is computed once and each choice goes on from it. With DMS,
     * a shared block whose tokens one cache evicts gets copied when that cache reuses the slots.
     *
     * @throws IllegalStateException for a cache with an eviction policy ({@link #canFork})
     */
    public PagedKvCache fork() {
        return duplicate("forked", pool, HeadStore::fork);
    }

    /**
     * A second cache holding the same tokens in blocks of its own (every block copied now, none shared; this cache
     * is left as it was): what a second sequence that had computed the same prompt would hold. Fails with
     * {@link KvCacheFullException}, holding nothing, when the pool cannot take all of it.
     *
     * @throws IllegalStateException for a cache with an eviction policy ({@link #canFork})
     */
    public PagedKvCache copy() {
        return copyInto(pool);
    }

    /**
     * {@link #copy} into {@code target}, a pool of the same block size in any element type: every key and value is
     * read back as floats and stored again in the target's type (an F32 cache copied into Q8_0 blocks holds what a
     * Q8_0 cache given the same keys and values holds).
     */
    public PagedKvCache copyInto(BlockPool target) {
        requireForkable("copied");
        target.require(blocksHeld());
        return duplicate("copied", target, h -> h.copyInto(target));
    }

    private void requireForkable(String verb) {
        if (!canFork()) {
            throw new IllegalStateException("a cache compressed by " + policy.name() + " cannot be " + verb);
        }
    }

    private PagedKvCache duplicate(String verb, BlockPool target, UnaryOperator<HeadStore> head) {
        requireForkable(verb);
        PagedKvCache copy = new PagedKvCache(shape, target, capacity, spec);
        try {
            for (int l = 0; l < heads.length; l++) {
                for (int h = 0; h < heads[l].length; h++) {
                    copy.heads[l][h] = head.apply(heads[l][h]);
                }
            }
        } catch (RuntimeException | Error e) {
            copy.release(); // the heads copied so far give their blocks back
            throw e;
        }
        copy.length = length;
        copy.prefilling = prefilling;
        return copy;
    }

    /** The element type keys and values are stored in (the pool's). */
    public KvType type() {
        return pool.type();
    }

    /** What this cache keeps and evicts. */
    public KvCacheSpec.Paged spec() {
        return spec;
    }

    /**
     * The block size for a model of {@code context} positions: about a 64th of the context, a whole number of vectors
     * (the score loop's tile), from one to 16 vectors' worth of tokens (16 to 256 with 512-bit vectors). Every
     * (sequence, layer, KV head) holds its own blocks, and with DMS their lengths differ by head and fall far below
     * the sequence's: a block is, on average, half empty at each head's end, so blocks much larger than what a head
     * keeps waste the memory compression saved (256-token blocks made a demo sequence of 1,024 tokens that DMS kept
     * at 150 a head cost two blocks a head). Small blocks cost a few more block switches in attention.
     */
    public static int blockSizeFor(int context) {
        int lanes = Kernels.lanes();
        int vectors = Math.clamp((context / 64 + lanes - 1) / lanes, 1, 16);
        return vectors * lanes;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public void reserve(int count) {
        if (length + count > capacity) {
            throw new IllegalArgumentException(
                    "positions up to " + (length + count) + " exceed the capacity " + capacity);
        }
        pool.require(blocksNeeded(count));
    }

    /**
     * Blocks the pool must still give for {@code count} more tokens (at most: DMS may free slots first). Lets a
     * scheduler check that a whole batch of sequences sharing the pool fits before running any of it.
     */
    public long blocksNeeded(int count) {
        long blocks = 0;
        for (HeadStore[] layer : heads) {
            for (HeadStore h : layer) {
                blocks += h.blocksFor(count);
            }
        }
        return blocks;
    }

    /**
     * Stores a batch of tokens. With DMS, first the decision of the batch's first token marks the token before it
     * (a decision on an empty head is dropped), then every marked token that left the window of the batch's
     * first query is evicted, freeing its slot for the batch (in decode: the token leaving the window makes room
     * for the new one in place); within the batch each token's decision marks its predecessor. The newest
     * token's mark waits for the next token's decision. Marked tokens that leave the window within the batch stay,
     * masked, until {@link #afterAttention}. With an eviction policy, the batch's queries the policy observes are
     * kept as {@link #attend} sees them.
     */
    @Override
    public void store(int layer, int position, int count, float[] k, float[] v, float[] decisions, int row) {
        int hs = shape.headSize(), kvDim = shape.kvDim(), kvHeads = shape.kvHeads();
        boolean evict = dmsWindow >= 0 && decisions != null;
        if (prefilling && layer == 0 && count == 1 && position > 0) {
            prefilling = false; // the first decoded token: the prompt's marked tokens outside the window leave now
        }
        HeadStore[] layerHeads = heads[layer];
        for (int h = 0; h < kvHeads; h++) {
            HeadStore head = layerHeads[h];
            EvictionPolicy headPolicy = policies != null ? policies[layer][h] : null;
            if (evict) {
                if (!marksItself
                        && head.lastSlot() >= 0
                        && head.position(head.lastSlot()) == position - 1
                        && decisions[row * kvHeads + h] > 0f) {
                    head.mark(head.lastSlot());
                }
                if (!prefilling) {
                    head.evictMarkedBefore(position - dmsWindow);
                }
            }
            for (int t = 0; t < count; t++) {
                int off = (row + t) * kvDim + h * hs;
                int slot = head.append(position + t, k, off, v, off);
                if (headPolicy != null) {
                    headPolicy.stored(head, slot, k, off);
                }
                // the reference: the next token's decision marks this one; FastDMS: this token's own decision
                int decider = marksItself ? t : t + 1;
                if (evict && decider < count && decisions[(row + decider) * kvHeads + h] > 0f) {
                    head.mark(slot);
                }
            }
        }
        if (policies != null) {
            batchSize = count;
            observedCount = policy.observedQueries(count);
            observedFirst = position + count - observedCount;
            if (observed.length < observedCount * shape.qDim()) {
                observed = new float[observedCount * shape.qDim()];
            }
        }
        if (layer == heads.length - 1) {
            length = Math.max(length, position + count);
        }
    }

    /**
     * With DMS, evicts the marked tokens the batch's last query no longer sees: no later query will; where that
     * leaves a block's worth of empty slots (a prompt chunk evicts many at once; a decode step's hole is refilled by
     * the next token), packs the head's tokens into its lowest slots and returns the emptied blocks to the pool. With
     * an eviction policy, lets it evict each head's tokens beyond its budget (heads in parallel), then packs the
     * survivors likewise.
     */
    @Override
    public void afterAttention(int layer, int lastPosition) {
        if (dmsWindow >= 0 && !prefilling) {
            for (HeadStore head : heads[layer]) {
                head.evictMarkedBefore(lastPosition - dmsWindow);
                if (head.holes() >= pool.blockSize()) {
                    head.compact();
                }
            }
        }
        if (policies != null) {
            policy.afterAttention(policyHeads, layer);
        }
    }

    /** The heads as this cache's eviction policy sees them after a batch. */
    private final class Heads implements PolicyHeads {

        @Override
        public int layers() {
            return heads.length;
        }

        @Override
        public int kvHeads() {
            return shape.kvHeads();
        }

        @Override
        public HeadStore head(int layer, int kvHead) {
            return heads[layer][kvHead];
        }

        @Override
        public EvictionPolicy policy(int layer, int kvHead) {
            return policies[layer][kvHead];
        }

        @Override
        public int keep(HeadStore head) {
            return policy.budget().keep(head.seen());
        }

        @Override
        public void forEachHead(int layer, HeadTask task) {
            int stride = shape.qDim(), width = shape.groupSize() * shape.headSize();
            long work = (long) Math.max(1, observedCount) * width * heads[layer][0].slots();
            Parallel.forRange(heads[layer].length, Parallel.grain(work), (worker, start, end) -> {
                Observation o = observations[worker];
                for (int h = start; h < end; h++) {
                    HeadStore head = heads[layer][h];
                    o.set(head, observed, stride, h * width, observedFirst, observedCount, batchSize == 1);
                    task.run(h, head, policies[layer][h], o);
                    head.compact();
                }
            });
        }
    }

    @Override
    public void attend(
            int layer,
            int position,
            int kvHead,
            float[] q,
            int qOff,
            int group,
            float[] out,
            int outOff,
            float[] scratch) {
        heads[layer][kvHead].attend(position, visibility, q, qOff, group, scale, out, outOff, scratch);
        observe(position, kvHead, q, qOff, group);
    }

    @Override
    public void attendTile(
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
        heads[layer][kvHead].attendTile(
                position, count, visibility, q, qOff, qStride, group, scale, out, outOff, outStride, scratch);
        for (int i = 0; i < count; i++) {
            observe(position + i, kvHead, q, qOff + i * qStride, group);
        }
    }

    /** Keeps the query at {@code position} if the policy observes it. */
    private void observe(int position, int kvHead, float[] q, int qOff, int group) {
        if (position >= observedFirst && position - observedFirst < observedCount) {
            int width = group * shape.headSize();
            System.arraycopy(q, qOff, observed, (position - observedFirst) * shape.qDim() + kvHead * width, width);
        }
    }

    @Override
    public int scratchSize() {
        return HeadStore.tileScratch(pool.blockSize(), shape.groupSize() * TILE);
    }

    /**
     * Whether {@link #truncate} to {@code newLength} gives exactly the cache a fresh run over those tokens would have:
     * always for a cache that keeps every token; for DMS while no token it already evicted would still be visible at
     * {@code newLength}; for an eviction policy only when nothing is cut (what it kept depends on what came after).
     */
    public boolean canRewind(int newLength) {
        if (newLength >= length || newLength == 0 || prefilling) {
            return true;
        }
        if (policies != null || marksItself) {
            return false; // FastDMS: a fresh run would attend the tokens after newLength as a dense prompt
        }
        for (HeadStore[] layer : heads) {
            for (HeadStore h : layer) {
                if (dmsWindow >= 0 && h.maxEvictedPosition() >= 0 && h.maxEvictedPosition() + dmsWindow >= newLength) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Forgets positions from {@code newLength} on. With DMS the mark that token {@code newLength} put on its
     * predecessor is taken back; a cache that already evicted a token still visible at {@code newLength} cannot
     * be rewound that far and says so. A cache with an eviction policy can only be cleared (to 0): what it kept
     * and its scores depend on the tokens after any other point.
     */
    @Override
    public void truncate(int newLength) {
        if (newLength >= length) {
            return;
        }
        if (newLength <= 0) {
            release(); // clearing is always exact, whatever was evicted
            return;
        }
        if (policies != null && newLength > 0) {
            throw new IllegalStateException("cannot rewind the cache compressed by " + policy.name() + " to "
                    + newLength + ": what it kept depends on the tokens after it; it can only be cleared");
        }
        for (HeadStore[] layer : heads) {
            for (HeadStore h : layer) {
                if (dmsWindow >= 0 && h.maxEvictedPosition() >= 0 && h.maxEvictedPosition() + dmsWindow >= newLength) {
                    throw new IllegalStateException("cannot rewind the compressed cache to " + newLength + ": token "
                            + h.maxEvictedPosition() + " was already evicted");
                }
            }
        }
        if (marksItself && !prefilling) {
            throw new IllegalStateException(
                    "cannot rewind a FastDMS cache to " + newLength
                            + " once decoding: a fresh run would attend what follows as a dense prompt; it can only be cleared");
        }
        for (HeadStore[] layer : heads) {
            for (HeadStore h : layer) {
                h.truncate(newLength);
                if (!marksItself) {
                    h.unmark(newLength - 1);
                }
            }
        }
        if (policies != null) {
            resetPolicies();
        }

        length = Math.min(length, Math.max(0, newLength));
    }

    /** Returns every block to the pool; the cache is empty afterwards. */
    public void release() {
        for (HeadStore[] layer : heads) {
            for (HeadStore h : layer) {
                h.release();
            }
        }
        if (policies != null) {
            resetPolicies();
        }
        length = 0;
        prefilling = marksItself;
    }

    /**
     * Whether this cache's policy scores the prompt by having the model replay it (KVzip): after the prompt's
     * prefill, a front end calls {@link #beginReplay}, runs the replayed tokens at the positions after the prompt a
     * chunk at a time ({@link #endReplayChunk} after each), then {@link #endReplay}, and only then decodes.
     */
    public boolean replaysContext() {
        return policy != null && policy.replaysContext();
    }

    /** Starts the replay of the {@link #length} positions held now. */
    public void beginReplay() {
        if (!replaysContext()) {
            throw new IllegalStateException("this cache's policy does not replay its context");
        }
        policy.beginReplay(length);
        replayed = length;
    }

    /** Forgets the replayed chunk's tokens: the cache holds the prompt again. */
    public void endReplayChunk() {
        if (replayed < 0) {
            throw new IllegalStateException("no replay under way");
        }
        for (HeadStore[] layer : heads) {
            for (HeadStore h : layer) {
                h.truncate(replayed);
            }
        }
        length = replayed;
    }

    /** Ends the replay: forgets its last chunk, and the policy evicts down to its budget. */
    public void endReplay() {
        endReplayChunk();
        replayed = -1;
        policy.endReplay(policyHeads);
    }

    /** Positions seen so far. */
    public int length() {
        return length;
    }

    /** Tokens (layer, KV head) keeps now. */
    public int liveTokens(int layer, int kvHead) {
        return heads[layer][kvHead].live();
    }

    /** Tokens (layer, KV head) has been given. */
    public long seenTokens(int layer, int kvHead) {
        return heads[layer][kvHead].seen();
    }

    /**
     * Compression ratio as DMS defines it: 1 / mean over (layer, KV head) of live / seen tokens (the inverse of
     * the mean kept fraction, not the mean of per-head ratios). 1 for an empty cache.
     */
    public double compressionRatio() {
        double kept = 0;
        int n = 0;
        for (HeadStore[] layer : heads) {
            for (HeadStore h : layer) {
                if (h.seen() > 0) {
                    kept += h.live() / (double) h.seen();
                    n++;
                }
            }
        }
        return n == 0 || kept == 0 ? 1 : n / kept;
    }

    @Override
    public long bytesUsed() {
        return blocksHeld() * pool.blockBytes();
    }

    private long blocksHeld() {
        long blocks = 0;
        for (HeadStore[] layer : heads) {
            for (HeadStore h : layer) {
                blocks += h.blocks();
            }
        }
        return blocks;
    }

    /** Bytes the live tokens take (blocks also hold room for tokens still to come). */
    public long liveBytes() {
        long tokens = 0;
        for (HeadStore[] layer : heads) {
            for (HeadStore h : layer) {
                tokens += h.live();
            }
        }
        return tokens * 2L * pool.type().vectorBytes(shape.headSize());
    }
}
