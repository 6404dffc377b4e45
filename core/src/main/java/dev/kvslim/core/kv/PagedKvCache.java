package dev.kvslim.core.kv;

import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.tensor.Kernels;

/**
 * One sequence's KV cache in paged blocks from a shared {@link BlockPool}: every (layer, KV head) keeps its own
 * tokens in its own block table, so heads can hold different numbers of tokens once a policy evicts some.
 * Attention is flash-style over the blocks and GQA-aware (a block is read once for all query heads of its group).
 */
public final class PagedKvCache implements KvCache {

    private final LlamaConfig config;
    private final BlockPool pool;
    private final HeadStore[][] heads;
    private final int capacity;
    private final float scale;
    private final HeadStore.Visibility visibility;
    private int length;

    /**
     * A cache for up to {@code capacity} positions of a model shaped {@code config}, drawing blocks from
     * {@code pool} (whose head size must match the model's).
     */
    public PagedKvCache(LlamaConfig config, BlockPool pool, int capacity) {
        if (pool.headSize() != config.headSize()) {
            throw new IllegalArgumentException("pool head size " + pool.headSize() + " != model head size " + config.headSize());
        }
        if (pool.blockSize() % Kernels.lanes() != 0) {
            throw new IllegalArgumentException("block size " + pool.blockSize() + " must be a multiple of the "
                    + Kernels.lanes() + "-lane vector width");
        }
        this.config = config;
        this.pool = pool;
        this.capacity = capacity;
        this.scale = (float) (1.0 / Math.sqrt(config.headSize()));
        this.heads = new HeadStore[config.layers()][config.kvHeads()];
        for (HeadStore[] layer : heads) {
            for (int h = 0; h < layer.length; h++) {
                layer[h] = new HeadStore(pool);
            }
        }
        int window = config.slidingWindow();
        this.visibility = window > 0
                ? (key, flag, query) -> key <= query && query - key < window
                : (key, flag, query) -> key <= query;
    }

    /** A block size that suits the vector width: 16 vectors' worth of tokens (256 with 512-bit vectors). */
    public static int defaultBlockSize() {
        return 16 * Kernels.lanes();
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public void reserve(int count) {
        if (length + count > capacity) {
            throw new IllegalArgumentException("positions up to " + (length + count) + " exceed the capacity " + capacity);
        }
        long blocks = 0;
        for (HeadStore[] layer : heads) {
            for (HeadStore h : layer) {
                blocks += h.blocksFor(count);
            }
        }
        pool.require(blocks);
    }

    @Override
    public void store(int layer, int position, float[] k, int kOff, float[] v, int vOff) {
        int hs = config.headSize();
        HeadStore[] row = heads[layer];
        for (int h = 0; h < row.length; h++) {
            row[h].append(position, k, kOff + h * hs, v, vOff + h * hs);
        }
        if (layer == heads.length - 1) {
            length = Math.max(length, position + 1);
        }
    }

    @Override
    public void attend(int layer, int position, int kvHead, float[] q, int qOff, int group, float[] out, int outOff,
                       float[] scratch) {
        heads[layer][kvHead].attend(position, visibility, q, qOff, group, scale, out, outOff, scratch);
    }

    @Override
    public int scratchSize() {
        return pool.blockSize() + 2 * config.groupSize();
    }

    @Override
    public void truncate(int newLength) {
        for (HeadStore[] layer : heads) {
            for (HeadStore h : layer) {
                h.truncate(newLength);
            }
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
        length = 0;
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
        long blocks = 0;
        for (HeadStore[] layer : heads) {
            for (HeadStore h : layer) {
                blocks += h.blocks();
            }
        }
        return blocks * pool.blockBytes();
    }

    /** Bytes the live tokens take (blocks also hold room for tokens still to come). */
    public long liveBytes() {
        long tokens = 0;
        for (HeadStore[] layer : heads) {
            for (HeadStore h : layer) {
                tokens += h.live();
            }
        }
        return tokens * 2L * config.headSize() * Float.BYTES;
    }
}
