package dev.kvslim.serve.schedule;

import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.PagedKvCache;
import java.util.IdentityHashMap;
import java.util.List;

/**
 * What a {@link Scheduler} holds after its latest step, for monitoring; {@link Recorder} keeps the running totals
 * the engine thread adds to and makes these snapshots from.
 *
 * @param running          sequences holding KV memory
 * @param waiting          sequences queued for admission
 * @param usedBytes        bytes of the pool's blocks in use
 * @param budgetBytes      the pool's budget
 * @param peakUsedBytes    the most bytes in use seen after any step since start
 * @param peakRunning      the most sequences running at once since start
 * @param meanRunning      sequences running in a step, averaged over the steps since start (0 before any)
 * @param liveBytes        bytes of the keys and values the running caches keep
 * @param compressionRatio tokens seen over tokens kept, over all running caches (1 when none)
 * @param layerRatios      the same per layer
 * @param generatedTokens  tokens generated since start
 * @param seenByHead       per [layer][KV head]: tokens the caches have seen since start (released caches, as they
 *                         were at release, plus the running ones now); a preempted sequence counts again when
 *                         recomputed
 * @param keptByHead       the same for the tokens they kept: {@code 1 - kept / seen} is the head's eviction rate
 * @param prefixQueries    with prefix caching, tokens of admitted sequences looked up in the kept caches since start
 * @param prefixHits       those of them found there (not prefilled)
 */
public record SchedulerStats(
        int running,
        int waiting,
        long usedBytes,
        long budgetBytes,
        long peakUsedBytes,
        int peakRunning,
        double meanRunning,
        long liveBytes,
        double compressionRatio,
        double[] layerRatios,
        long generatedTokens,
        long[][] seenByHead,
        long[][] keptByHead,
        long prefixQueries,
        long prefixHits) {

    /** Prefix-cache hits over queries since start, or NaN before any query. */
    public double prefixHitRate() {
        return prefixQueries == 0 ? Double.NaN : prefixHits / (double) prefixQueries;
    }

    /** Tokens seen over tokens kept since start, over every cache (1 before any). */
    public double lifetimeCompressionRatio() {
        long seen = 0, kept = 0;
        for (int l = 0; l < seenByHead.length; l++) {
            for (int h = 0; h < seenByHead[l].length; h++) {
                seen += seenByHead[l][h];
                kept += keptByHead[l][h];
            }
        }
        return kept == 0 ? 1 : seen / (double) kept;
    }

    /** The engine thread's running totals: tokens generated, peaks, and what released caches saw and kept. */
    static final class Recorder {
        private final long[][] releasedSeen;
        private final long[][] releasedKept;
        private long peakUsedBytes;
        private int peakRunning;
        private long runningSum;
        private long steps;
        private long generatedTokens;
        private long prefixQueries;
        private long prefixHits;
        private final IdentityHashMap<PagedKvCache, long[]> baselines = new IdentityHashMap<>();
        private final int window;
        // over released caches' (layer, KV head) entries: tokens seen beyond the window, and of those kept
        private long beyondSeen;
        private long beyondKept;

        /** @param window tokens a compressing cache always keeps (DMS: its window w + 1), 0 for none */
        Recorder(int layers, int kvHeads, int window) {
            releasedSeen = new long[layers][kvHeads];
            releasedKept = new long[layers][kvHeads];
            this.window = window;
        }

        void generated() {
            generatedTokens++;
        }

        void prefixCache(int tokens, int hits) {
            prefixQueries += tokens;
            prefixHits += hits;
        }

        void used(long bytes) {
            peakUsedBytes = Math.max(peakUsedBytes, bytes);
        }

        /** A step ran with {@code running} sequences holding KV memory. */
        void ran(int running) {
            runningSum += running;
            steps++;
        }

        /**
         * Of the tokens beyond the window, the share the released caches and the {@code running} ones kept (1 before
         * any token went beyond a window): what a compressing cache is expected to keep of a sequence's tokens past its
         * window.
         */
        double keptShare(List<PagedKvCache> running) {
            long seen = beyondSeen, kept = beyondKept;
            for (PagedKvCache cache : running) {
                for (int l = 0; l < releasedSeen.length; l++) {
                    for (int h = 0; h < releasedSeen[l].length; h++) {
                        long s = cache.seenTokens(l, h);
                        seen += Math.max(0, s - window);
                        kept += Math.max(0, cache.liveTokens(l, h) - Math.min(s, window));
                    }
                }
            }
            return seen == 0 ? 1 : kept / (double) seen;
        }

        /**
         * Adds a sequence's cache, at its end, to the lifetime totals; returns how many tokens it evicted. A cache a
         * sequence took from the prefix cache counts only what it saw and kept beyond what it held when taken.
         */
        long released(PagedKvCache cache) {
            long[] base = baselines.remove(cache);
            long evicted = 0;
            int i = 0;
            for (int l = 0; l < releasedSeen.length; l++) {
                for (int h = 0; h < releasedSeen[l].length; h++, i++) {
                    long seen = cache.seenTokens(l, h), kept = cache.liveTokens(l, h);
                    if (base != null) {
                        seen -= base[2 * i];
                        kept -= base[2 * i + 1];
                    }
                    evicted += seen - kept;
                    releasedSeen[l][h] += seen;
                    releasedKept[l][h] += kept;
                    beyondSeen += Math.max(0, cache.seenTokens(l, h) - window);
                    beyondKept += Math.max(0, cache.liveTokens(l, h) - Math.min(cache.seenTokens(l, h), window));
                }
            }
            return evicted;
        }

        /** A sequence took {@code cache} from the prefix cache: what it holds now was counted before. */
        void reused(PagedKvCache cache) {
            long[] base = new long[2 * releasedSeen.length * releasedSeen[0].length];
            int i = 0;
            for (int l = 0; l < releasedSeen.length; l++) {
                for (int h = 0; h < releasedSeen[l].length; h++, i++) {
                    base[2 * i] = cache.seenTokens(l, h);
                    base[2 * i + 1] = cache.liveTokens(l, h);
                }
            }
            baselines.put(cache, base);
        }

        /** A snapshot with the {@code running} caches as they are now and {@code queued} sequences waiting. */
        SchedulerStats snapshot(List<PagedKvCache> running, int queued, BlockPool pool) {
            int layers = releasedSeen.length;
            double[] seen = new double[layers], live = new double[layers];
            long[][] seenByHead = new long[layers][], keptByHead = new long[layers][];
            for (int l = 0; l < layers; l++) {
                seenByHead[l] = releasedSeen[l].clone();
                keptByHead[l] = releasedKept[l].clone();
            }
            long liveBytes = 0;
            for (PagedKvCache cache : running) {
                liveBytes += cache.liveBytes();
                for (int l = 0; l < layers; l++) {
                    for (int h = 0; h < seenByHead[l].length; h++) {
                        long headSeen = cache.seenTokens(l, h), headKept = cache.liveTokens(l, h);
                        seen[l] += headSeen;
                        live[l] += headKept;
                        seenByHead[l][h] += headSeen;
                        keptByHead[l][h] += headKept;
                    }
                }
            }
            double[] ratios = new double[layers];
            double seenAll = 0, liveAll = 0;
            for (int l = 0; l < layers; l++) {
                ratios[l] = live[l] == 0 ? 1 : seen[l] / live[l];
                seenAll += seen[l];
                liveAll += live[l];
            }
            peakRunning = Math.max(peakRunning, running.size());
            return new SchedulerStats(
                    running.size(),
                    queued,
                    pool.usedBytes(),
                    pool.budgetBytes(),
                    peakUsedBytes,
                    peakRunning,
                    steps == 0 ? 0 : runningSum / (double) steps,
                    liveBytes,
                    liveAll == 0 ? 1 : seenAll / liveAll,
                    ratios,
                    generatedTokens,
                    seenByHead,
                    keptByHead,
                    prefixQueries,
                    prefixHits);
        }
    }
}
