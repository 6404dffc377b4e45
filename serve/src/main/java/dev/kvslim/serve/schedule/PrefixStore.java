package dev.kvslim.serve.schedule;

import dev.kvslim.core.kv.PagedKvCache;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Prefix caching at the granularity of whole sequences, as llama.cpp's server keeps each slot's prompt cache: the
 * caches of finished sequences are kept, with the tokens they hold, and a new sequence whose tokens start with some of
 * them takes the cache sharing the longest prefix, rewound to it, and prefills only the rest. The next turn of a
 * conversation (the earlier turns, the answer and a new message) finds the previous turn's cache this way. A cache is
 * taken only where rewinding it is exact ({@link PagedKvCache#canRewind}): always for caches that keep every token; for
 * DMS while no token evicted so far is still visible at the prefix's end. Kept caches hold pool blocks until a
 * sequence takes them or the scheduler needs the blocks ({@link #evictOldest}); at most {@code maxEntries} are kept.
 * Engine thread only.
 */
final class PrefixStore {

    private record Entry(int[] tokens, PagedKvCache cache) {}

    /** A cache taken for a sequence: it holds the sequence's first {@code reused} tokens. */
    record Hit(PagedKvCache cache, int reused) {}

    private final int maxEntries;
    private final long blockBytes;
    private final List<Entry> entries = new ArrayList<>(); // oldest first

    /** A store of at most {@code maxEntries} caches from a pool of {@code blockBytes}-byte blocks. */
    PrefixStore(int maxEntries, long blockBytes) {
        this.maxEntries = maxEntries;
        this.blockBytes = blockBytes;
    }

    /** Keeps {@code cache}, which holds {@code tokens} (one per position, in order). */
    void put(int[] tokens, PagedKvCache cache) {
        if (tokens.length == 0 || maxEntries == 0) {
            cache.release();
            return;
        }
        entries.add(new Entry(tokens.clone(), cache));
        while (entries.size() > maxEntries) {
            entries.removeFirst().cache().release();
        }
    }

    /**
     * Takes the kept cache sharing the longest prefix with {@code tokens}, rewound to that prefix (at most all but the
     * last token, which must run to give logits), or null when none shares a token or can be rewound exactly.
     */
    Hit take(int[] tokens) {
        int best = -1;
        int bestLength = 0;
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            int common = Arrays.mismatch(e.tokens(), tokens);
            if (common < 0) {
                common = tokens.length;
            }
            common = Math.min(common, Math.min(e.tokens().length, tokens.length - 1));
            if (common > bestLength && e.cache().canRewind(common)) {
                best = i;
                bestLength = common;
            }
        }
        if (best < 0) {
            return null;
        }
        Entry e = entries.remove(best);
        e.cache().truncate(bestLength);
        return new Hit(e.cache(), bestLength);
    }

    /** Gives back a cache taken but not used, holding the first {@code length} of {@code tokens}. */
    void putBack(int[] tokens, int length, PagedKvCache cache) {
        entries.add(new Entry(Arrays.copyOf(tokens, length), cache));
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

    /** Pool blocks the kept caches hold. */
    long blocks() {
        long bytes = 0;
        for (Entry e : entries) {
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
