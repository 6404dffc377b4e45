package dev.kvslim.core.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.format.hf.HuggingFaceModels;
import dev.kvslim.core.format.llama2c.Llama2cCheckpoint;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.tensor.Kernels;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.core.testing.ParityFolders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The paged cache without eviction computes what the dense cache computes. */
class PagedKvCacheTest {

    private static final long BIG = 1L << 30;

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 16})
    void keepingEveryTokenMatchesTheDenseCacheStepByStep(int blockVectors) {
        Model m = Llama2cCheckpoint.load(Fixtures.path("stories260K/stories260K.bin"));
        int blockSize = blockVectors * Kernels.lanes();
        PagedKvCache paged =
                new PagedKvCache(m.config().kvShape(), new BlockPool(m.config().headSize(), blockSize, BIG), 200);
        KvCache dense = m.newDenseCache(200);
        Model.State a = m.newState(1), b = m.newState(1);
        int[] token = {1};
        for (int pos = 0; pos < 200; pos++) {
            float[] pl = m.forward(a, token, 0, 1, pos, paged);
            float[] dl = m.forward(b, token, 0, 1, pos, dense);
            assertThat(pl).as("position %d", pos).containsExactly(dl, within(2e-5f));
            token[0] = Sampler.argmax(dl);
            assertThat(Sampler.argmax(pl)).isEqualTo(token[0]);
        }
        assertThat(paged.compressionRatio()).isEqualTo(1.0);
        assertThat(paged.liveTokens(4, 3)).isEqualTo(200);
        assertThat(paged.bytesUsed()).isEqualTo(5L * 4 * ((200 + blockSize - 1) / blockSize) * 2 * 8 * blockSize * 4);
    }

    /** A greedy run: its tokens and the logits at step {@link #PROBE}. */
    private record Greedy(int[] tokens, float[] probe) {}

    private static final int PROBE = 100;

    /** Greedy tokens from BOS with a paged cache of {@code type}. */
    private static Greedy greedy(Model m, KvType type, int steps) {
        PagedKvCache cache = new PagedKvCache(
                m.config().kvShape(),
                new BlockPool(
                        m.config().headSize(),
                        PagedKvCache.blockSizeFor(m.config().contextLength()),
                        BIG,
                        type),
                steps);
        Model.State s = m.newState(1);
        int[] tokens = new int[steps];
        float[] probe = null;
        int[] token = {1};
        for (int pos = 0; pos < steps; pos++) {
            float[] logits = m.forward(s, token, 0, 1, pos, cache);
            if (pos == PROBE) {
                probe = logits.clone();
            }
            token[0] = Sampler.argmax(logits);
            tokens[pos] = token[0];
        }
        return new Greedy(tokens, probe);
    }

    /** How many leading tokens of two runs agree. */
    private static int agreement(Greedy a, Greedy b) {
        int n = 0;
        while (n < a.tokens.length && a.tokens[n] == b.tokens[n]) {
            n++;
        }
        return n;
    }

    /**
     * stories260K's greedy story from BOS over its whole 512-token context with 16-bit keys and values follows the
     * F32 one for a long stretch. Measured (AVX-512): F16 agrees on all 512 tokens, BF16 on the first 420; the
     * floors leave room for other vector widths. The logits do differ (the cache really rounds), by little.
     */
    @Test
    void sixteenBitKeysAndValuesKeepTheGreedyStory() {
        Model m = Llama2cCheckpoint.load(Fixtures.path("stories260K/stories260K.bin"));
        int steps = m.config().contextLength();
        Greedy f32 = greedy(m, KvType.F32, steps), f16 = greedy(m, KvType.F16, steps);
        Greedy bf16 = greedy(m, KvType.BF16, steps);
        assertThat(agreement(f32, f16)).isGreaterThanOrEqualTo(480);
        assertThat(agreement(f32, bf16)).isGreaterThanOrEqualTo(384);
        for (Greedy g : new Greedy[] {f16, bf16}) {
            assertThat(g.probe).isNotEqualTo(f32.probe).containsExactly(f32.probe, within(0.05f));
        }
    }

    @Test
    void slidingWindowAndBatchedPrefillMatchTheDenseCache() {
        Model m = HuggingFaceModels.load(ParityFolders.path("mistral-f32"));
        int[] prompt = {1, 17, 42, 5, 88, 23, 61, 9, 33};
        float[] dense =
                m.forward(m.newState(9), prompt, 0, 9, 0, m.newDenseCache(9)).clone();
        BlockPool pool = new BlockPool(m.config().headSize(), Kernels.lanes(), BIG);
        for (int batch : new int[] {1, 4, 9}) {
            PagedKvCache paged = new PagedKvCache(m.config().kvShape(), pool, 9);
            Model.State s = m.newState(batch);
            float[] logits = m.forward(s, prompt, 0, 9, 0, paged);
            assertThat(logits).as("batch %d", batch).containsExactly(dense, within(1e-5f));
            paged.release();
        }
        assertThat(pool.usedBlocks()).isZero();
    }

    @Test
    void aFullPoolFailsBeforeStoringAnything() {
        Model m = Llama2cCheckpoint.load(Fixtures.path("stories260K/stories260K.bin"));
        int blockSize = Kernels.lanes();
        // 20 heads (5 layers x 4 KV heads), room for exactly one block each
        BlockPool pool = new BlockPool(8, blockSize, 20 * BlockPool.blockBytes(8, blockSize));
        PagedKvCache cache = new PagedKvCache(m.config().kvShape(), pool, 512);
        int[] prompt = new int[blockSize + 1];
        java.util.Arrays.fill(prompt, 5);
        m.forward(m.newState(blockSize), prompt, 0, blockSize, 0, cache);
        assertThat(pool.usedBlocks()).isEqualTo(20);
        long bytes = cache.bytesUsed();
        assertThatThrownBy(() -> m.forward(m.newState(1), prompt, blockSize, 1, blockSize, cache))
                .isInstanceOf(KvCacheFullException.class)
                .hasMessageContaining("20 more blocks needed, 0 free");
        assertThat(cache.length()).isEqualTo(blockSize);
        assertThat(cache.bytesUsed()).isEqualTo(bytes);
        assertThat(cache.liveTokens(0, 0)).isEqualTo(blockSize);
        cache.truncate(blockSize - 1);
        assertThat(cache.liveTokens(2, 1)).isEqualTo(blockSize - 1);
        cache.release();
        assertThat(pool.usedBlocks()).isZero();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void aForkSharesItsBlocksAndBothCachesGoOnAsFreshOnes(int blockVectors) {
        Model m = Llama2cCheckpoint.load(Fixtures.path("stories260K/stories260K.bin"));
        int blockSize = blockVectors * Kernels.lanes();
        BlockPool pool = new BlockPool(m.config().headSize(), blockSize, BIG);
        PagedKvCache first = new PagedKvCache(m.config().kvShape(), pool, 200);
        // a prompt that ends inside a block, so both caches' next tokens write to a shared block
        int prompt = 3 * blockSize + blockSize / 2 + 1;
        Model.State state = m.newState(1);
        int[] token = {1};
        float[] logits = null;
        for (int pos = 0; pos < prompt; pos++) {
            logits = m.forward(state, token, 0, 1, pos, first);
            token[0] = Sampler.argmax(logits);
        }
        int used = pool.usedBlocks();
        PagedKvCache second = first.fork();
        assertThat(pool.usedBlocks()).as("a fork copies nothing").isEqualTo(used);
        assertThat(second.blocksNeeded(1))
                .as("the shared last block must be copied")
                .isPositive();
        // the two go on with different tokens; each must give what a fresh cache over its own tokens gives
        int[][] continuations = {{token[0], 5, 6, 7}, {9, 10, 11, 12}};
        PagedKvCache[] caches = {first, second};
        for (int c = 0; c < 2; c++) {
            Model.State s = m.newState(1);
            for (int i = 0; i < continuations[c].length; i++) {
                int[] t = {continuations[c][i]};
                logits = m.forward(s, t, 0, 1, prompt + i, caches[c]);
            }
            PagedKvCache fresh = new PagedKvCache(
                    m.config().kvShape(), new BlockPool(m.config().headSize(), blockSize, BIG), 200);
            Model.State f = m.newState(1);
            int[] replay = {1};
            float[] expected = null;
            for (int pos = 0; pos < prompt; pos++) {
                expected = m.forward(f, replay, 0, 1, pos, fresh);
                replay[0] = Sampler.argmax(expected);
            }
            for (int i = 0; i < continuations[c].length; i++) {
                int[] t = {continuations[c][i]};
                expected = m.forward(f, t, 0, 1, prompt + i, fresh);
            }
            assertThat(logits).as("cache %d after the fork", c).containsExactly(expected);
        }
        // each copied the block it wrote to (per layer and KV head); the rest stays shared
        int heads = m.config().layers() * m.config().kvHeads();
        assertThat(pool.usedBlocks()).isEqualTo(used + heads);
        first.release();
        assertThat(pool.usedBlocks())
                .as("the second still holds the shared blocks")
                .isEqualTo(used);
        second.release();
        assertThat(pool.usedBlocks()).isZero();
    }

    @Test
    void aCopyHoldsItsOwnBlocksGoesOnLikeTheOriginalAndIsRefusedWholeWhenTheBudgetIsShort() {
        Model m = Llama2cCheckpoint.load(Fixtures.path("stories260K/stories260K.bin"));
        int blockSize = Kernels.lanes();
        int prompt = 3 * blockSize + 1;
        int heads = m.config().layers() * m.config().kvHeads();
        // room for the original and one copy, plus a block per head for the tokens each goes on with
        long budget = (2L * 4 + 2) * heads * BlockPool.blockBytes(m.config().headSize(), blockSize);
        BlockPool pool = new BlockPool(m.config().headSize(), blockSize, budget);
        PagedKvCache first = new PagedKvCache(m.config().kvShape(), pool, 200);
        Model.State state = m.newState(1);
        int[] token = {1};
        for (int pos = 0; pos < prompt; pos++) {
            token[0] = Sampler.argmax(m.forward(state, token, 0, 1, pos, first));
        }
        int used = pool.usedBlocks();
        assertThat(used).isEqualTo(4 * heads);
        PagedKvCache second = first.copy();
        assertThat(pool.usedBlocks()).as("every block copied at once").isEqualTo(2 * used);
        assertThat(second.blocksNeeded(1))
                .as("nothing shared, nothing to copy later")
                .isZero();
        assertThatThrownBy(first::copy).isInstanceOf(KvCacheFullException.class);
        assertThat(pool.usedBlocks()).as("a refused copy holds nothing").isEqualTo(2 * used);
        // the original's blocks freed and reused by the copy's next tokens: the copy must not have read them
        first.release();
        PagedKvCache fresh =
                new PagedKvCache(m.config().kvShape(), new BlockPool(m.config().headSize(), blockSize, BIG), 200);
        Model.State f = m.newState(1);
        int[] replay = {1};
        for (int pos = 0; pos < prompt; pos++) {
            replay[0] = Sampler.argmax(m.forward(f, replay, 0, 1, pos, fresh));
        }
        Model.State s = m.newState(1);
        int[] t = {token[0]};
        for (int pos = prompt; pos < prompt + 2 * blockSize; pos++) {
            float[] got = m.forward(s, t, 0, 1, pos, second);
            float[] expected = m.forward(f, t, 0, 1, pos, fresh);
            assertThat(got).as("position %d", pos).containsExactly(expected);
            t[0] = Sampler.argmax(expected);
        }
        second.release();
        assertThat(pool.usedBlocks()).isZero();
    }
}
