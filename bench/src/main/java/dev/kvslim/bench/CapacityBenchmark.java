package dev.kvslim.bench;

import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCacheFullException;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.Sampler;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * How many sequences of one long context a KV budget holds, measured by admitting them: one context is prefilled for
 * real through the model into a cache drawn from the budget's pool, a few tokens are decoded on it, and then copies
 * of that cache (every block copied, none shared: {@link PagedKvCache#copy}) are admitted until the pool refuses
 * one. The memory and the refusal are real; the compute is spent once, so the copies hold the same tokens (which
 * for DMS also means the same evictions, where a second real context would evict a few different ones).
 */
public final class CapacityBenchmark {

    private CapacityBenchmark() {}

    /**
     * One measurement.
     *
     * @param cache           the cache, as {@code bench} labels it ("none f16", "dms q8_0")
     * @param context         tokens prefilled into each sequence
     * @param prefillSeconds  wall time of the one real prefill
     * @param decodeTokensPerSecond greedy decode right after it, at that depth
     * @param ratio           tokens seen per token kept, averaged over (layer, KV head)
     * @param bytesPerContext bytes of the blocks one sequence holds (block tables' blocks, tails included)
     * @param admitted        sequences the budget took: the prefilled one and its copies
     * @param refusedNeeding  blocks the next copy needed when it was refused
     * @param freeBlocks      blocks left in the pool then
     * @param residentBytes   the process's resident memory with all of them held
     */
    public record Result(
            String model,
            String cache,
            int context,
            long budgetBytes,
            double prefillSeconds,
            double decodeTokensPerSecond,
            double ratio,
            long bytesPerContext,
            int admitted,
            long refusedNeeding,
            long freeBlocks,
            long residentBytes) {

        /** One JSON object. */
        public String json() {
            return String.format(
                    Locale.ROOT,
                    "{\"model\": \"%s\", \"cache\": \"%s\", \"context\": %d, \"kv_budget_bytes\": %d,"
                            + " \"prefill_seconds\": %.1f, \"decode_tokens_per_s\": %.3f, \"ratio\": %.3f,"
                            + " \"bytes_per_context\": %d, \"admitted\": %d, \"refused_needing_blocks\": %d,"
                            + " \"free_blocks\": %d, \"rss_bytes\": %d}",
                    ModelBenchmark.escape(model),
                    ModelBenchmark.escape(cache),
                    context,
                    budgetBytes,
                    prefillSeconds,
                    decodeTokensPerSecond,
                    ratio,
                    bytesPerContext,
                    admitted,
                    refusedNeeding,
                    freeBlocks,
                    residentBytes);
        }

        /** A line for people. */
        public String text() {
            return String.format(
                    Locale.ROOT,
                    "%s, %s: %d sequences of %d tokens admitted in %.2f GiB (%.1f MiB each, ratio %.2f; the next"
                            + " needed %d blocks, %d were free); prefill %.0f s, decode %.2f tokens/s at that depth;"
                            + " resident %.2f GiB",
                    model,
                    cache,
                    admitted,
                    context,
                    budgetBytes / (double) (1L << 30),
                    bytesPerContext / (double) (1 << 20),
                    ratio,
                    refusedNeeding,
                    freeBlocks,
                    prefillSeconds,
                    decodeTokensPerSecond,
                    residentBytes / (double) (1L << 30));
        }
    }

    /**
     * Prefills {@code context} random tokens (fixed seed) into a cache of {@code spec} from {@code pool}, decodes
     * {@code decodeTokens} greedy tokens, then admits copies until the pool refuses; everything is released after.
     * Progress goes to {@code progress} every few prompt chunks.
     */
    public static Result run(
            String name,
            Model model,
            KvCacheSpec.Paged spec,
            String cacheLabel,
            BlockPool pool,
            int context,
            int decodeTokens,
            PrintStream progress) {
        int positions = context + decodeTokens;
        if (context < 1 || positions > model.config().contextLength()) {
            throw new IllegalArgumentException(
                    "--capacity " + context + " (+ " + decodeTokens + " decoded) does not fit the model's context of "
                            + model.config().contextLength());
        }
        int[] tokens = new SplittableRandom(7)
                .ints(context, 0, model.config().vocabSize())
                .toArray();
        PagedKvCache first = spec.newCache(model.config().kvShape(), pool, positions);
        List<PagedKvCache> held = new ArrayList<>();
        held.add(first);
        try {
            int batch = Math.min(ModelBenchmark.PREFILL_BATCH, context);
            Model.State state = model.newState(batch);
            long t0 = System.nanoTime();
            float[] logits = null;
            for (int at = 0; at < context; at += batch) {
                int n = Math.min(batch, context - at);
                logits = model.forward(state, tokens, at, n, at, first);
                if ((at / batch) % 8 == 7 && progress != null) {
                    progress.printf(
                            Locale.ROOT,
                            "  %s: %d of %d tokens in %.0f s%n",
                            cacheLabel,
                            at + n,
                            context,
                            (System.nanoTime() - t0) / 1e9);
                }
            }
            long t1 = System.nanoTime();
            Model.State one = model.newState(1);
            int[] token = {Sampler.argmax(logits)};
            for (int i = 0; i < decodeTokens; i++) {
                token[0] = Sampler.argmax(model.forward(one, token, 0, 1, context + i, first));
            }
            long t2 = System.nanoTime();
            long need = first.bytesUsed() / pool.blockBytes();
            while (true) {
                try {
                    held.add(first.copy());
                } catch (KvCacheFullException e) {
                    break;
                }
            }
            return new Result(
                    name,
                    cacheLabel,
                    context,
                    pool.budgetBytes(),
                    (t1 - t0) / 1e9,
                    decodeTokens == 0 ? 0 : decodeTokens * 1e9 / (t2 - t1),
                    first.compressionRatio(),
                    first.bytesUsed(),
                    held.size(),
                    need,
                    pool.capacityBlocks() - pool.usedBlocks(),
                    ModelBenchmark.residentBytes());
        } finally {
            held.forEach(PagedKvCache::release);
        }
    }
}
