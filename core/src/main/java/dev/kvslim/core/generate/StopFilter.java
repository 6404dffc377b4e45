package dev.kvslim.core.generate;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Holds back output that could be the start of a stop string, and cuts the text at the first stop string (of those
 * complete in the text so far, the one that starts first). Works on UTF-8 bytes, so pieces that split a character are
 * handled like any others. Only the bytes not yet written are kept: a stop string cannot begin in written text, since
 * any unfinished start of one is held.
 *
 * <p>The stop strings are matched by one Aho-Corasick automaton over their bytes, so a byte of output costs the same
 * however many stop strings there are: its state is the longest tail of the text that begins some stop string (the
 * bytes held back), and each state knows the longest stop string ending there. One filter per sequence; {@link
 * Decoding} runs every sequence's text through one.
 */
public final class StopFilter {

    private final Automaton automaton;
    private final Generator.Sink sink;
    private byte[] pending = new byte[64];
    private int length;
    private int state;

    public StopFilter(List<String> stopStrings, Generator.Sink sink) {
        this.automaton = stopStrings.isEmpty() ? null : new Automaton(stopStrings);
        this.sink = sink;
    }

    /** Adds bytes; returns true when a stop string completed (text before it has been written). */
    public boolean append(byte[] piece) {
        if (automaton == null) {
            sink.write(piece, 0, piece.length);
            return false;
        }
        if (length + piece.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(2 * pending.length, length + piece.length));
        }
        System.arraycopy(piece, 0, pending, length, piece.length);
        int firstStart = -1;
        for (int i = 0; i < piece.length; i++) {
            state = automaton.step(state, piece[i]);
            int match = automaton.longestMatch[state];
            if (match > 0) {
                int start = length + i + 1 - match;
                firstStart = firstStart < 0 ? start : Math.min(firstStart, start);
            }
        }
        length += piece.length;
        if (firstStart >= 0) {
            emit(firstStart);
            return true;
        }
        emit(length - automaton.depth[state]);
        return false;
    }

    /** Writes what was held back: generation ended without a stop string. */
    public void finish() {
        emit(length);
    }

    /** Writes the first {@code n} pending bytes and drops them. */
    private void emit(int n) {
        if (n > 0) {
            sink.write(pending, 0, n);
            System.arraycopy(pending, n, pending, 0, length - n);
            length -= n;
        }
    }

    /** The Aho-Corasick automaton of a set of byte strings: a trie with failure links; state 0 is the root. */
    private static final class Automaton {
        final int[] depth;
        final int[] longestMatch;
        private final int[] fail;
        private final byte[][] keys; // per state: the bytes of its children, sorted
        private final int[][] children; // per state: the child for each key

        Automaton(List<String> stops) {
            List<byte[]> edgeKeys = new ArrayList<>();
            List<int[]> edgeChildren = new ArrayList<>();
            List<Integer> depths = new ArrayList<>();
            List<Integer> terminal = new ArrayList<>();
            edgeKeys.add(new byte[0]);
            edgeChildren.add(new int[0]);
            depths.add(0);
            terminal.add(0);
            for (String stop : stops) {
                int s = 0;
                for (byte b : stop.getBytes(StandardCharsets.UTF_8)) {
                    int c = find(edgeKeys.get(s), edgeChildren.get(s), b);
                    if (c < 0) {
                        c = depths.size();
                        edgeKeys.add(new byte[0]);
                        edgeChildren.add(new int[0]);
                        depths.add(depths.get(s) + 1);
                        terminal.add(0);
                        insert(edgeKeys, edgeChildren, s, b, c);
                    }
                    s = c;
                }
                terminal.set(s, depths.get(s));
            }
            int n = depths.size();
            keys = edgeKeys.toArray(byte[][]::new);
            children = edgeChildren.toArray(int[][]::new);
            depth = depths.stream().mapToInt(Integer::intValue).toArray();
            fail = new int[n];
            longestMatch = new int[n];
            // breadth first: a state's failure link and longest match come from shallower states
            ArrayDeque<Integer> queue = new ArrayDeque<>();
            for (int c : children[0]) {
                queue.add(c);
                longestMatch[c] = terminal.get(c);
            }
            while (!queue.isEmpty()) {
                int s = queue.poll();
                for (int k = 0; k < keys[s].length; k++) {
                    int c = children[s][k];
                    fail[c] = step(fail[s], keys[s][k]);
                    longestMatch[c] = terminal.get(c) > 0 ? terminal.get(c) : longestMatch[fail[c]];
                    queue.add(c);
                }
            }
        }

        /** The state after {@code b} in state {@code s}. */
        int step(int s, byte b) {
            while (true) {
                int c = find(keys[s], children[s], b);
                if (c >= 0) {
                    return c;
                }
                if (s == 0) {
                    return 0;
                }
                s = fail[s];
            }
        }

        private static int find(byte[] keys, int[] children, byte b) {
            int i = Arrays.binarySearch(keys, b);
            return i >= 0 ? children[i] : -1;
        }

        private static void insert(List<byte[]> keys, List<int[]> children, int s, byte b, int child) {
            byte[] k = keys.get(s);
            int[] c = children.get(s);
            int at = -Arrays.binarySearch(k, b) - 1;
            byte[] k2 = new byte[k.length + 1];
            int[] c2 = new int[c.length + 1];
            System.arraycopy(k, 0, k2, 0, at);
            System.arraycopy(c, 0, c2, 0, at);
            k2[at] = b;
            c2[at] = child;
            System.arraycopy(k, at, k2, at + 1, k.length - at);
            System.arraycopy(c, at, c2, at + 1, c.length - at);
            keys.set(s, k2);
            children.set(s, c2);
        }
    }
}
