package dev.kvslim.core.constrain;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A pushdown matcher of a {@link Grammar}, turned into a deterministic automaton as it runs. A matcher position is a
 * set of stacks (the grammar may be ambiguous); a stack's top is the next byte set to match, the rest says where to go
 * on when the current alternative ends. Stacks are hash-consed (one object per distinct stack, shared tails) and so
 * are sets of them, so each distinct position becomes one {@link State}, and a state's successor on a byte is computed
 * once and then looked up. Inside a JSON string, an array of numbers or any loop of the grammar the same few states
 * recur, which makes the per-token cost of {@link TokenMask} a table lookup after the first visit.
 *
 * <p>One automaton belongs to one thread at a time (the states it has built are caches it grows). Its size grows with
 * the distinct positions visited, so one is made per request and dropped with it.
 */
public final class Automaton {

    /** Most rule expansions one step may nest: deeper means a grammar far beyond what schemas make. */
    private static final int MAX_DEPTH = 2_000;

    private final Grammar grammar;
    private final Map<Long, Node> nodes = new HashMap<>();
    private final Map<Key, State> states = new HashMap<>();
    private final Node bottom = new Node(-1, null, 0);
    private final State start;

    /** One stack: match the byte set at {@code pos}, then go on as {@code parent} says (null: the stack's end). */
    static final class Node {
        final int pos;
        final Node parent;
        final int id;
        Node[] afterMatch;

        Node(int pos, Node parent, int id) {
            this.pos = pos;
            this.parent = parent;
            this.id = id;
        }
    }

    private record Key(int[] ids) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(ids, k.ids);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(ids);
        }

        @Override
        public String toString() {
            return Arrays.toString(ids);
        }
    }

    /** A set of matcher stacks: where the matcher is after some bytes. */
    public final class State {
        final Node[] stacks;
        final boolean canEnd;
        final boolean dead;
        private final State[] next = new State[256];
        long[] mask;
        Object maskVocabulary;

        private State(Node[] stacks) {
            this.stacks = stacks;
            boolean end = false;
            for (Node n : stacks) {
                end |= n == bottom;
            }
            this.canEnd = end;
            this.dead = stacks.length == 0;
        }

        /** The state after byte {@code b} (0-255); {@link #isDead()} if the grammar does not allow it here. */
        public State next(int b) {
            State s = next[b];
            if (s == null) {
                s = step(this, b);
                next[b] = s;
            }
            return s;
        }

        /** The state after {@code bytes}, dead if the grammar rejects them. */
        public State next(byte[] bytes) {
            State s = this;
            for (int i = 0; i < bytes.length && !s.dead; i++) {
                s = s.next(bytes[i] & 0xFF);
            }
            return s;
        }

        /** Whether the bytes so far are a whole sentence of the grammar. */
        public boolean canEnd() {
            return canEnd;
        }

        /** Whether no continuation is allowed: the bytes so far are not the start of any sentence. */
        public boolean isDead() {
            return dead;
        }

        /** Whether the bytes so far are a whole sentence and nothing may follow them. */
        public boolean isComplete() {
            return canEnd && stacks.length == 1;
        }
    }

    public Automaton(Grammar grammar) {
        this.grammar = grammar;
        nodes.put(key(-1, null), bottom);
        List<Node> out = new ArrayList<>();
        for (int a : grammar.alternatives[grammar.root]) {
            expand(a, bottom, out, 0);
        }
        this.start = intern(out);
    }

    /** Where matching starts. */
    public State start() {
        return start;
    }

    /** Whether {@code text} (UTF-8) is a sentence of the grammar. */
    public boolean matches(byte[] text) {
        State s = start.next(text);
        return !s.dead && s.canEnd;
    }

    /** Distinct states built so far. */
    public int stateCount() {
        return states.size();
    }

    private State step(State from, int b) {
        List<Node> out = new ArrayList<>();
        for (Node n : from.stacks) {
            if (n != bottom && grammar.setContains(grammar.code[n.pos], b)) {
                if (n.afterMatch == null) {
                    List<Node> after = new ArrayList<>();
                    expand(n.pos + 1, n.parent, after, 0);
                    n.afterMatch = after.toArray(Node[]::new);
                }
                out.addAll(Arrays.asList(n.afterMatch));
            }
        }
        return intern(out);
    }

    /** Adds the stacks whose tops are byte sets reached from element {@code pos} with {@code parent} beneath it. */
    private void expand(int pos, Node parent, List<Node> out, int depth) {
        if (depth > MAX_DEPTH) {
            throw new GrammarException("the grammar nests more than " + MAX_DEPTH + " rules deep");
        }
        int e = grammar.code[pos];
        if (e == Grammar.END) {
            if (parent == bottom) {
                out.add(bottom);
            } else {
                expand(parent.pos, parent.parent, out, depth + 1);
            }
        } else if (e >= 0) {
            out.add(node(pos, parent));
        } else {
            // a reference as the last element needs no frame of its own: the rule's end is its parent's
            Node then = grammar.code[pos + 1] == Grammar.END ? parent : node(pos + 1, parent);
            for (int a : grammar.alternatives[-2 - e]) {
                expand(a, then, out, depth + 1);
            }
        }
    }

    private static long key(int pos, Node parent) {
        return ((long) pos << 32) | (parent == null ? 0xFFFFFFFFL : parent.id & 0xFFFFFFFFL);
    }

    private Node node(int pos, Node parent) {
        return nodes.computeIfAbsent(key(pos, parent), k -> new Node(pos, parent, nodes.size()));
    }

    private State intern(List<Node> list) {
        int[] ids = new int[list.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = list.get(i).id;
        }
        Arrays.sort(ids);
        int n = 0;
        for (int i = 0; i < ids.length; i++) {
            if (n == 0 || ids[i] != ids[n - 1]) {
                ids[n++] = ids[i];
            }
        }
        Key k = new Key(Arrays.copyOf(ids, n));
        State s = states.get(k);
        if (s == null) {
            Node[] stacks = new Node[n];
            int j = 0;
            for (Node node : list) {
                int at = Arrays.binarySearch(k.ids, node.id);
                if (stacks[at] == null) {
                    stacks[at] = node;
                    j++;
                }
            }
            assert j == n;
            s = new State(stacks);
            states.put(k, s);
        }
        return s;
    }
}
