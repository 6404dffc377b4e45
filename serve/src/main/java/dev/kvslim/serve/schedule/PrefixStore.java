package dev.kvslim.serve.schedule;

import dev.kvslim.core.kv.PagedKvCache;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Prefix caching: a new sequence starts from the cache that shares the longest prefix of its tokens, among the caches
 * of finished sequences kept here (with the tokens they hold) and those of the sequences running now, and prefills
 * only the rest.
 *
 * <ul>
 *   <li>A kept cache whose tokens all start the new sequence (the previous turn of a conversation) is taken over
 *       whole.
 *   <li>Otherwise (a system prompt shared by other users, another request running with the same prefix) the cache is
 *       forked ({@link PagedKvCache#fork}: the prefix's blocks are shared, copy-on-write) and the fork rewound to the
 *       prefix; the source goes on, or stays kept for others.
 * </ul>
 *
 * A cache is used only where rewinding it to the prefix is exact ({@link PagedKvCache#canRewind}): always for caches
 * that keep every token; for DMS while no token evicted so far is still visible at the prefix's end. Forks need at
 * least {@link #MIN_SHARED} tokens in common. Kept caches hold pool blocks until a sequence takes them or the scheduler
 * needs the blocks ({@link #evictOldest}); at most {@code maxEntries} are kept. Engine thread only.
 */
final class PrefixStore {

    /** Fewest tokens in common worth a fork. */
    static final int MIN_SHARED = 16;

    /** A cache that holds {@code tokens} (one per position, in order). */
    record Source(int[] tokens, PagedKvCache cache) {}

    /** A cache for a new sequence: it holds the sequence's first {@code reused} tokens. */
    record Hit(PagedKvCache cache, int reused) {}

    private final int maxEntries;
    private final long blockBytes;
    private final List<Source> entries = new ArrayList<>(); // oldest first

    /** A store of at most {@code maxEntries} caches from a pool of {@code blockBytes}-byte blocks. */
    PrefixStore(int maxEntries, long blockBytes) {
        this.maxEntries = maxEntries;
        this.blockBytes = blockBytes;
    }

    /** Keeps {@code cache}, which holds {@code tokens}. */
    void put(int[] tokens, PagedKvCache cache) {
        if (tokens.length == 0 || maxEntries == 0) {
            cache.release();
            return;
        }
        entries.add(new Source(tokens.clone(), cache));
        while (entries.size() > maxEntries) {
            entries.removeFirst().cache().release();
        }
    }

    /**
     * A cache for a sequence of {@code tokens}: the kept or {@code running} cache sharing the longest prefix with them
     * (at most all but the last token, which must run to give logits), taken or forked and rewound to it; null when
     * none shares enough or can be rewound exactly.
     */
    Hit find(int[] tokens, List<Source> running) {
        Source best = null;
        int bestLength = 0;
        boolean bestKept = false;
        for (int pass = 0; pass < 2; pass++) {
            List<Source> sources = pass == 0 ? entries : running;
            for (Source s : sources) {
                int common = Arrays.mismatch(s.tokens(), tokens);
                if (common < 0) {
                    common = tokens.length;
                }
                common = Math.min(common, Math.min(s.tokens().length, tokens.length - 1));
                boolean whole = pass == 0 && common == s.tokens().length;
                if (common > bestLength
                        && (whole || (common >= MIN_SHARED && s.cache().canFork()))
                        && s.cache().canRewind(common)) {
                    best = s;
                    bestLength = common;
                    bestKept = pass == 0;
                }
            }
        }
        if (best == null) {
            return null;
        }
        if (bestKept && bestLength == best.tokens().length) {
            entries.remove(best); // the conversation's previous turn: taken over whole
            best.cache().truncate(bestLength);
            return new Hit(best.cache(), bestLength);
        }
        if (bestKept) {
            entries.remove(best); // most recently used: last to go
            entries.add(best);
        }
        PagedKvCache fork = best.cache().fork();
        fork.truncate(bestLength);
        return new Hit(fork, bestLength);
    }

    /** Gives back a cache found but not used (it holds the first {@code length} of {@code tokens}). */
    void putBack(int[] tokens, int length, PagedKvCache cache) {
        put(Arrays.copyOf(tokens, length), cache);
    }

    /** Releases the oldest kept cache's blocks; false when none is kept. */
    boolean evictOldest() {
        if (entries.isEmpty()) {
            return false;
        }
        entries.removeFirst().cache().release();
        return true;
    }

    int size() {
        return entries.size();
    }

    /** Pool blocks the kept caches hold (a block shared with a running cache counts here too). */
    long blocks() {
        long bytes = 0;
        for (Source e : entries) {
            bytes += e.cache().bytesUsed();
        }
        return bytes / blockBytes;
    }

    /** Releases every kept cache. */
    void clear() {
        while (evictOldest()) {
            // releasing
        }
    }
}
