package dev.kvslim.core.constrain;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A context-free grammar over bytes, compiled from named {@link Expr} rules into the flat form a pushdown matcher
 * walks (as llama.cpp's GBNF grammars are): every rule is a list of alternatives, every alternative a run of elements
 * in {@link #code} ending in {@link #END}. An element is a byte set (its index in {@link #sets}, at least 0) or a
 * reference to a rule ({@code -2 - rule}). Repetitions become right-recursive rules, so the matcher's stacks do not
 * grow with the number of repeats.
 *
 * <p>Compilation refuses what a pushdown matcher cannot walk: a rule that can reach itself before consuming a byte
 * (left recursion, including the repetition of something that can be empty), a reference to an undefined rule, and
 * grammars of more than {@link #MAX_ELEMENTS} elements. Immutable.
 */
public final class Grammar {

    /** End of an alternative. */
    static final int END = -1;

    /** Most elements a compiled grammar may have. */
    public static final int MAX_ELEMENTS = 1 << 20;

    final int[] code;
    final long[] sets; // 4 words per set
    final int[][] alternatives; // per rule: start positions in code
    final String[] ruleNames;
    final int root;

    private Grammar(int[] code, long[] sets, int[][] alternatives, String[] ruleNames, int root) {
        this.code = code;
        this.sets = sets;
        this.alternatives = alternatives;
        this.ruleNames = ruleNames;
        this.root = root;
    }

    /** A grammar whose language is that of {@code root}. */
    public static Grammar of(Expr root) {
        return of(Map.of("root", root), "root");
    }

    /** A grammar over the named {@code rules}, whose language is that of the rule {@code root}. */
    public static Grammar of(Map<String, Expr> rules, String root) {
        return new Compiler(rules).compile(root);
    }

    /** Number of rules, those made for alternatives and repetitions included. */
    public int ruleCount() {
        return alternatives.length;
    }

    /** Number of elements. */
    public int size() {
        return code.length;
    }

    boolean setContains(int set, int b) {
        return (sets[4 * set + (b >>> 6)] >>> (b & 63) & 1) != 0;
    }

    private static final class Compiler {
        private final Map<String, Expr> named;
        private final Map<String, Integer> ruleIds = new LinkedHashMap<>();
        private final List<String> names = new ArrayList<>();
        private final List<List<int[]>> bodies = new ArrayList<>(); // per rule, its alternatives' elements
        private final Map<Expr.Bytes, Integer> setIds = new HashMap<>();
        private final List<long[]> setWords = new ArrayList<>();
        private final Map<Expr, Integer> synthetic = new HashMap<>();
        private int elements;

        Compiler(Map<String, Expr> named) {
            this.named = named;
        }

        Grammar compile(String root) {
            int rootId = rule(root);
            for (String name : named.keySet()) {
                rule(name); // rules nothing refers to are compiled too, so their mistakes are reported
            }
            int[][] alternatives = new int[bodies.size()][];
            int[] code = new int[elements];
            int p = 0;
            for (int r = 0; r < bodies.size(); r++) {
                List<int[]> alts = bodies.get(r);
                alternatives[r] = new int[alts.size()];
                for (int a = 0; a < alts.size(); a++) {
                    alternatives[r][a] = p;
                    for (int e : alts.get(a)) {
                        code[p++] = e;
                    }
                    code[p++] = END;
                }
            }
            long[] sets = new long[4 * setWords.size()];
            for (int i = 0; i < setWords.size(); i++) {
                System.arraycopy(setWords.get(i), 0, sets, 4 * i, 4);
            }
            Grammar g = new Grammar(code, sets, alternatives, names.toArray(String[]::new), rootId);
            checkLeftRecursion(g);
            return g;
        }

        /** The id of the named rule, compiling it on first use. */
        private int rule(String name) {
            Integer id = ruleIds.get(name);
            if (id != null) {
                return id;
            }
            Expr body = named.get(name);
            if (body == null) {
                throw new GrammarException("the grammar refers to rule '" + name + "', which is not defined");
            }
            int r = newRule(name);
            ruleIds.put(name, r);
            define(r, body);
            return r;
        }

        private int newRule(String name) {
            names.add(name);
            bodies.add(null);
            return names.size() - 1;
        }

        private void define(int r, Expr body) {
            List<int[]> alts = new ArrayList<>();
            if (body instanceof Expr.Alt alt) {
                for (Expr option : alt.options()) {
                    alts.add(sequence(option));
                }
            } else {
                alts.add(sequence(body));
            }
            for (int[] a : alts) {
                elements += a.length + 1;
            }
            if (elements > MAX_ELEMENTS) {
                throw new GrammarException("the grammar is too large (more than " + MAX_ELEMENTS + " elements)");
            }
            bodies.set(r, alts);
        }

        private int[] sequence(Expr e) {
            List<Integer> out = new ArrayList<>();
            emit(e, out);
            return out.stream().mapToInt(Integer::intValue).toArray();
        }

        private void emit(Expr e, List<Integer> out) {
            switch (e) {
                case Expr.Bytes b -> out.add(set(b));
                case Expr.Seq s -> {
                    for (Expr item : s.items()) {
                        emit(item, out);
                    }
                }
                case Expr.Alt a -> {
                    if (a.options().size() == 1) {
                        emit(a.options().getFirst(), out);
                    } else {
                        out.add(ref(syntheticRule(a, "alt")));
                    }
                }
                case Expr.Ref r -> out.add(ref(rule(r.rule())));
                case Expr.Repeat rep -> emitRepeat(rep, out);
            }
        }

        private void emitRepeat(Expr.Repeat rep, List<Integer> out) {
            Expr body = rep.body();
            int once = body instanceof Expr.Bytes b ? set(b) : ref(syntheticRule(body, "item"));
            for (int i = 0; i < rep.min(); i++) {
                out.add(once);
            }
            if (rep.max() == rep.min()) {
                return;
            }
            if (out.size() > MAX_ELEMENTS) {
                throw new GrammarException("the grammar is too large (a repetition of " + rep.min() + " or more)");
            }
            if (rep.max() == -1) {
                // many ::= body many | (empty)
                int r = newRule("repeat");
                bodies.set(r, List.of(new int[] {once, ref(r)}, new int[0]));
                elements += 4;
                out.add(ref(r));
                return;
            }
            // at most k more: opt_k ::= body opt_(k-1) | (empty); opt_1 ::= body | (empty)
            int previous = -1;
            for (int k = 1; k <= rep.max() - rep.min(); k++) {
                int r = newRule("optional");
                int[] more = previous < 0 ? new int[] {once} : new int[] {once, ref(previous)};
                bodies.set(r, List.of(more, new int[0]));
                elements += more.length + 2;
                previous = r;
                if (elements > MAX_ELEMENTS) {
                    throw new GrammarException("the grammar is too large (a repetition of up to " + rep.max() + ")");
                }
            }
            out.add(ref(previous));
        }

        private int syntheticRule(Expr e, String kind) {
            Integer known = synthetic.get(e);
            if (known != null) {
                return known;
            }
            int r = newRule(kind);
            synthetic.put(e, r);
            define(r, e);
            return r;
        }

        private int set(Expr.Bytes b) {
            return setIds.computeIfAbsent(b, k -> {
                setWords.add(k.words());
                return setWords.size() - 1;
            });
        }

        private static int ref(int rule) {
            return -2 - rule;
        }
    }

    /**
     * Refuses rules that reach themselves before consuming a byte: a pushdown matcher would expand them forever.
     * Computes which rules can match the empty string first (a fixed point), then follows, from every rule, the
     * references that can come first in an alternative.
     */
    private static void checkLeftRecursion(Grammar g) {
        int rules = g.alternatives.length;
        boolean[] nullable = new boolean[rules];
        for (boolean changed = true; changed; ) {
            changed = false;
            for (int r = 0; r < rules; r++) {
                if (nullable[r]) {
                    continue;
                }
                for (int start : g.alternatives[r]) {
                    if (nullableFrom(g, start, nullable)) {
                        nullable[r] = true;
                        changed = true;
                        break;
                    }
                }
            }
        }
        // state: 0 unvisited, 1 on the path, 2 done
        byte[] state = new byte[rules];
        for (int r = 0; r < rules; r++) {
            if (state[r] == 0) {
                visit(g, r, nullable, state);
            }
        }
    }

    private static boolean nullableFrom(Grammar g, int p, boolean[] nullable) {
        for (; g.code[p] != END; p++) {
            int e = g.code[p];
            if (e >= 0 || !nullable[-2 - e]) {
                return false;
            }
        }
        return true;
    }

    private static void visit(Grammar g, int r, boolean[] nullable, byte[] state) {
        state[r] = 1;
        for (int start : g.alternatives[r]) {
            for (int p = start; g.code[p] != END && g.code[p] < 0; p++) {
                int s = -2 - g.code[p];
                if (state[s] == 1) {
                    throw new GrammarException("the grammar can repeat or recurse without consuming anything (rule '"
                            + g.ruleNames[s] + "' reaches itself first); give the repetition something to match");
                }
                if (state[s] == 0) {
                    visit(g, s, nullable, state);
                }
                if (!nullable[s]) {
                    break;
                }
            }
        }
        state[r] = 2;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        for (int r = 0; r < alternatives.length; r++) {
            s.append(r).append(' ').append(ruleNames[r]).append(" ::=");
            for (int a = 0; a < alternatives[r].length; a++) {
                s.append(a == 0 ? " " : " | ");
                for (int p = alternatives[r][a]; code[p] != END; p++) {
                    int e = code[p];
                    s.append(
                                    e >= 0
                                            ? "set" + e + Arrays.toString(Arrays.copyOfRange(sets, 4 * e, 4 * e + 4))
                                            : "r" + (-2 - e))
                            .append(' ');
                }
            }
            s.append('\n');
        }
        return s.toString();
    }
}
