package dev.kvslim.bench;

import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCacheFullException;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.Sampler;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * How many sequences of one long context a KV budget holds, measured by admitting them: one context is prefilled for
 * real through the model into a cache drawn from the budget's pool, a few tokens are decoded on it, and then copies
 * of that cache (every block copied, none shared: {@link PagedKvCache#copy}) are admitted until the pool refuses
 * one. The memory and the refusal are real; the compute is spent once, so the copies hold the same tokens (which
 * for DMS also means the same evictions, where a second real context would evict a few different ones). Other KV
 * element types can be measured from the same prefill by converting its cache ({@link PagedKvCache#copyInto}), each
 * from the type before it: their keys and values are the first type's rounded again, for DMS the tokens kept are the
 * first type's, the prefill time and decode rate they report are the first type's, and their resident memory
 * includes what the heap kept of the earlier pools. For clean figures per type, run one type per process.
 */
public final class CapacityBenchmark {

    private CapacityBenchmark() {}

    /** How the one context gets into its cache. */
    public enum Fill {
        /** The model's forward pass over the tokens: what a served prompt costs, and what DMS needs. */
        FORWARD,
        /**
         * Zero keys and values stored through the cache for every position and layer, no forward pass: for a cache
         * that keeps every token, whose bytes do not depend on the values (a 32K prefill of an 8B model is hours
         * on two cores). The decoded tokens after it run the model for real over those keys.
         */
        ZEROS
    }

    /**
     * One measurement.
     *
     * @param cache           the cache, as {@code bench} labels it ("none f16", "dms q8_0")
     * @param prefilledAs     the element type the one real prefill ran in (the others are converted copies)
     * @param fill            how that context got into its cache
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
            String prefilledAs,
            Fill fill,
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
                    "{\"model\": \"%s\", \"cache\": \"%s\", \"prefilled_as\": \"%s\", \"fill\": \"%s\","
                            + " \"context\": %d,"
                            + " \"kv_budget_bytes\": %d,"
                            + " \"prefill_seconds\": %.1f, \"decode_tokens_per_s\": %.3f, \"ratio\": %.3f,"
                            + " \"bytes_per_context\": %d, \"admitted\": %d, \"refused_needing_blocks\": %d,"
                            + " \"free_blocks\": %d, \"rss_bytes\": %d}",
                    ModelBenchmark.escape(model),
                    ModelBenchmark.escape(cache),
                    prefilledAs,
                    fill.name().toLowerCase(Locale.ROOT),
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
                    "%s, %s%s%s: %d sequences of %d tokens admitted in %.2f GiB (%.1f MiB each, ratio %.2f; the next"
                            + " needed %d blocks, %d were free); prefill %.0f s, decode %.2f tokens/s at that depth;"
                            + " resident %.2f GiB",
                    model,
                    cache,
                    cache.endsWith(" " + prefilledAs) ? "" : " (copies of the " + prefilledAs + " prefill)",
                    fill == Fill.ZEROS ? " (zero keys and values, no forward pass)" : "",
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
     * Prefills {@code context} random tokens (fixed seed) into a cache of {@code spec} in the first of {@code types},
     * decodes {@code decodeTokens} greedy tokens, then, for each type in turn, admits copies into a pool of that type
     * and {@code budget} bytes until it refuses one. The first type's sequences are the prefilled cache and its
     * copies; each later type's are copies of one cache converted from the type before it ({@link
     * PagedKvCache#copyInto}); one type's pool is held at a time (plus the one cache being converted). Progress goes to
     * {@code progress} every few prompt chunks; each type's result to {@code each} as it is measured.
     */
    public static void run(
            String name,
            Model model,
            KvCacheSpec.Paged spec,
            List<KvType> types,
            long budget,
            int context,
            Fill fill,
            int decodeTokens,
            PrintStream progress,
            Consumer<Result> each) {
        if (fill == Fill.ZEROS && !(spec instanceof KvCacheSpec.KeepAll)) {
            throw new IllegalArgumentException("a cache of zeros stands in only for one that keeps every token"
                    + " (--kv-policy none), not " + spec.label() + ", whose evictions need the forward pass");
        }
        int positions = context + decodeTokens;
        if (context < 1 || positions > model.config().contextLength()) {
            throw new IllegalArgumentException(
                    "--capacity " + context + " (+ " + decodeTokens + " decoded) does not fit the model's context of "
                            + model.config().contextLength());
        }
        int headSize = model.config().headSize();
        int blockSize = PagedKvCache.blockSizeFor(model.config().contextLength());
        int[] tokens = new SplittableRandom(7)
                .ints(context, 0, model.config().vocabSize())
                .toArray();
        String label = spec.label() + " ";
        BlockPool pool = new BlockPool(headSize, blockSize, budget, types.getFirst());
        PagedKvCache seed = spec.newCache(model.config().kvShape(), pool, positions);
        try {
            int batch = Math.min(ModelBenchmark.PREFILL_BATCH, context);
            long t0 = System.nanoTime();
            float[] logits = null;
            if (fill == Fill.ZEROS) {
                float[] zeros = new float[batch * model.config().kvDim()];
                for (int at = 0; at < context; at += batch) {
                    for (int l = 0; l < model.config().layers(); l++) {
                        seed.store(l, at, Math.min(batch, context - at), zeros, zeros, null);
                    }
                }
            } else {
                Model.State state = model.newState(batch);
                for (int at = 0; at < context; at += batch) {
                    int n = Math.min(batch, context - at);
                    logits = model.forward(state, tokens, at, n, at, seed);
                    if ((at / batch) % 8 == 7 && progress != null) {
                        progress.printf(
                                Locale.ROOT,
                                "  %s: %d of %d tokens in %.0f s%n",
                                label + types.getFirst(),
                                at + n,
                                context,
                                (System.nanoTime() - t0) / 1e9);
                    }
                }
            }
            long t1 = System.nanoTime();
            Model.State one = model.newState(1);
            int[] token = {logits == null ? tokens[context - 1] : Sampler.argmax(logits)};
            for (int i = 0; i < decodeTokens; i++) {
                token[0] = Sampler.argmax(model.forward(one, token, 0, 1, context + i, seed));
            }
            long t2 = System.nanoTime();
            double prefillSeconds = (t1 - t0) / 1e9;
            double decodeRate = decodeTokens == 0 ? 0 : decodeTokens * 1e9 / (t2 - t1);
            for (int i = 0; i < types.size(); i++) {
                if (i > 0) {
                    // the previous pool keeps the storage of every block it ever gave out: move the seed to a pool
                    // of its own size first, so the previous one can go before the next one fills
                    BlockPool alone = new BlockPool(headSize, blockSize, seed.bytesUsed(), types.get(i - 1));
                    PagedKvCache moved = seed.copyInto(alone);
                    seed.release();
                    seed = moved;
                    pool = alone;
                    BlockPool next = new BlockPool(headSize, blockSize, budget, types.get(i));
                    PagedKvCache converted;
                    try {
                        converted = seed.copyInto(next);
                    } catch (KvCacheFullException e) {
                        throw new IllegalArgumentException("a KV budget of " + budget + " bytes holds no sequence of "
                                + context + " tokens in " + types.get(i));
                    }
                    seed.release();
                    seed = converted;
                    pool = next;
                }
                List<PagedKvCache> held = new ArrayList<>();
                held.add(seed);
                while (true) {
                    try {
                        held.add(seed.copy());
                    } catch (KvCacheFullException e) {
                        break;
                    }
                }
                Result r = new Result(
                        name,
                        label + types.get(i),
                        types.getFirst().toString(),
                        fill,
                        context,
                        budget,
                        prefillSeconds,
                        decodeRate,
                        seed.compressionRatio(),
                        seed.bytesUsed(),
                        held.size(),
                        seed.bytesUsed() / pool.blockBytes(),
                        pool.capacityBlocks() - pool.usedBlocks(),
                        ModelBenchmark.residentBytes());
                held.subList(1, held.size()).forEach(PagedKvCache::release);
                each.accept(r);
            }
        } finally {
            seed.release();
        }
    }
}
