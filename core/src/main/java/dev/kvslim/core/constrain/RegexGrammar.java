package dev.kvslim.core.constrain;

import java.util.ArrayList;
import java.util.List;

/**
 * Compiles a regular expression (ECMAScript syntax, as JSON Schema's {@code pattern} uses) into a grammar whose
 * sentences are the texts the expression matches as a whole. Supported: literals and escapes ({@code \d \w \s} and
 * their negations, {@code \t \n \r \f \v \0 \xHH \\uHHHH \\u{H...}}), {@code .}, classes with ranges and negation,
 * groups ({@code (...)}, {@code (?:...)}, {@code (?<name>...)}), alternation, and the quantifiers {@code * + ? {n}
 * {n,} {n,m}} (lazy ones match the same texts). A {@code ^} at the start and a {@code $} at the end are accepted
 * (matching is always of the whole text). Look-arounds, back-references, word boundaries, Unicode property escapes and
 * anchors elsewhere are a {@link GrammarException} naming the construct and its offset.
 */
public final class RegexGrammar {

    /** Most repetitions a bounded quantifier may ask for. */
    static final int MAX_REPEAT = 1000;

    /** Most groups open at once (the parser recurses per group). */
    static final int MAX_NESTING = 100;

    private static final CodePoints DIGITS = CodePoints.range('0', '9');
    private static final CodePoints WORD = DIGITS.union(CodePoints.range('a', 'z'))
            .union(CodePoints.range('A', 'Z'))
            .union(CodePoints.of('_'));
    private static final CodePoints SPACE = CodePoints.of(
                    " \t\n\r\u000B\f\u00A0\u1680\u2028\u2029\u202F\u205F\u3000\uFEFF")
            .union(CodePoints.range(0x2000, 0x200A));
    private static final CodePoints DOT = CodePoints.of("\n\r\u2028\u2029").complement();

    private final String pattern;
    private final CodePoints universe;
    private final String what;
    private int at;
    private int depth;

    private RegexGrammar(String pattern, CodePoints universe, String what) {
        this.pattern = pattern;
        this.universe = universe;
        this.what = what;
    }

    /** The texts {@code pattern} matches as a whole. */
    public static Grammar of(String pattern) {
        return Grammar.of(expr(pattern, CodePoints.ALL, "the regular expression"));
    }

    /**
     * The texts {@code pattern} matches as a whole, made only of characters in {@code universe} (every character set
     * of the pattern is cut down to it); {@code what} names the pattern in errors.
     */
    static Expr expr(String pattern, CodePoints universe, String what) {
        RegexGrammar r = new RegexGrammar(pattern, universe, what);
        int end = pattern.length();
        if (pattern.startsWith("^")) {
            r.at = 1;
        }
        if (end > r.at && pattern.endsWith("$") && !escaped(pattern, end - 1)) {
            end--;
        }
        Expr e = r.alternation(end);
        if (r.at != end) {
            throw r.malformed("unbalanced ')'");
        }
        return e;
    }

    /** Whether the character at {@code i} is escaped by an odd number of backslashes before it. */
    private static boolean escaped(String s, int i) {
        int n = 0;
        while (i - n - 1 >= 0 && s.charAt(i - n - 1) == '\\') {
            n++;
        }
        return n % 2 == 1;
    }

    /** A construct this compiler does not take. */
    private GrammarException error(String problem) {
        return new GrammarException(what + ": " + problem + " at offset " + at + " is not supported");
    }

    /** A pattern that is not a regular expression at all. */
    private GrammarException malformed(String problem) {
        return new GrammarException(what + " is malformed: " + problem + " at offset " + at);
    }

    private Expr alternation(int end) {
        List<Expr> options = new ArrayList<>();
        options.add(concatenation(end));
        while (at < end && pattern.charAt(at) == '|') {
            at++;
            options.add(concatenation(end));
        }
        return Expr.alt(options);
    }

    private Expr concatenation(int end) {
        List<Expr> items = new ArrayList<>();
        while (at < end && pattern.charAt(at) != '|' && pattern.charAt(at) != ')') {
            items.add(quantified(end));
        }
        return items.size() == 1 ? items.getFirst() : new Expr.Seq(items);
    }

    private Expr quantified(int end) {
        Expr atom = atom(end);
        while (at < end) {
            char c = pattern.charAt(at);
            int min;
            int max;
            if (c == '*') {
                min = 0;
                max = -1;
                at++;
            } else if (c == '+') {
                min = 1;
                max = -1;
                at++;
            } else if (c == '?') {
                min = 0;
                max = 1;
                at++;
            } else if (c == '{' && braces(end) != null) {
                int[] b = braces(end);
                min = b[0];
                max = b[1];
                at = b[2];
            } else {
                break;
            }
            if (at < end && pattern.charAt(at) == '?') {
                at++; // lazy: the same texts
            }
            atom = new Expr.Repeat(atom, min, max);
        }
        return atom;
    }

    /** {@code {n}}, {@code {n,}} or {@code {n,m}} at {@link #at}: {min, max (-1 none), end}, or null if not one. */
    private int[] braces(int end) {
        int i = at + 1;
        int n0 = i;
        while (i < end && Character.isDigit(pattern.charAt(i))) {
            i++;
        }
        if (i == n0 || i >= end) {
            return null;
        }
        long min = Long.parseLong(pattern.substring(n0, Math.min(i, n0 + 9)));
        long max = min;
        if (pattern.charAt(i) == ',') {
            i++;
            int m0 = i;
            while (i < end && Character.isDigit(pattern.charAt(i))) {
                i++;
            }
            max = i == m0 ? -1 : Long.parseLong(pattern.substring(m0, Math.min(i, m0 + 9)));
        }
        if (i >= end || pattern.charAt(i) != '}') {
            return null;
        }
        if (min > MAX_REPEAT || max > MAX_REPEAT) {
            throw error("a repetition of more than " + MAX_REPEAT);
        }
        if (max != -1 && max < min) {
            throw malformed("a repetition {" + min + "," + max + "} with its bounds out of order");
        }
        return new int[] {(int) min, (int) max, i + 1};
    }

    private Expr atom(int end) {
        char c = pattern.charAt(at);
        switch (c) {
            case '(' -> {
                if (++depth > MAX_NESTING) {
                    throw error("more than " + MAX_NESTING + " nested groups");
                }
                at++;
                if (pattern.startsWith("?:", at)) {
                    at += 2;
                } else if (pattern.startsWith("?<", at)
                        && !pattern.startsWith("?<=", at)
                        && !pattern.startsWith("?<!", at)) {
                    int close = pattern.indexOf('>', at);
                    if (close < 0 || close >= end) {
                        throw malformed("a group name without '>'");
                    }
                    at = close + 1;
                } else if (pattern.startsWith("?", at)) {
                    throw error("a look-around or group flag '(" + pattern.substring(at, Math.min(end, at + 2)) + "'");
                }
                Expr inner = alternation(end);
                if (at >= end || pattern.charAt(at) != ')') {
                    throw malformed("a group without ')'");
                }
                at++;
                depth--;
                return inner;
            }
            case '[' -> {
                return chars(characterClass(end));
            }
            case '.' -> {
                at++;
                return chars(DOT);
            }
            case '\\' -> {
                return chars(escape(end, false));
            }
            case '^', '$' -> throw error("an anchor '" + c + "' inside the pattern");
            case '*', '+', '?' -> throw malformed("a quantifier '" + c + "' with nothing to repeat");
            case ')' -> throw malformed("unbalanced ')'");
            default -> {
                int cp = pattern.codePointAt(at);
                at += Character.charCount(cp);
                return chars(CodePoints.of(cp));
            }
        }
    }

    private Expr chars(CodePoints set) {
        CodePoints allowed = set.intersect(universe);
        return allowed.isEmpty() ? Expr.NOTHING : Expr.codePoints(allowed);
    }

    private CodePoints characterClass(int end) {
        at++; // '['
        boolean negate = at < end && pattern.charAt(at) == '^';
        if (negate) {
            at++;
        }
        CodePoints set = CodePoints.NONE;
        boolean first = true;
        while (true) {
            if (at >= end) {
                throw malformed("a class without ']'");
            }
            char c = pattern.charAt(at);
            if (c == ']' && !first) {
                at++;
                break;
            }
            if (c == ']') {
                at++; // "[]" matches nothing in ECMAScript; "[^]" anything
                return negate ? CodePoints.ALL : CodePoints.NONE;
            }
            first = false;
            CodePoints lo = classAtom(end);
            if (at + 1 < end && pattern.charAt(at) == '-' && pattern.charAt(at + 1) != ']') {
                at++;
                CodePoints hi = classAtom(end);
                if (lo.size() != 1 || lo.lo(0) != lo.hi(0) || hi.size() != 1 || hi.lo(0) != hi.hi(0)) {
                    throw malformed("a range whose end is a class escape");
                }
                if (hi.lo(0) < lo.lo(0)) {
                    throw malformed("a range out of order");
                }
                set = set.union(CodePoints.range(lo.lo(0), hi.lo(0)));
            } else {
                set = set.union(lo);
            }
        }
        return negate ? set.complement() : set;
    }

    private CodePoints classAtom(int end) {
        if (pattern.charAt(at) == '\\') {
            return escape(end, true);
        }
        int cp = pattern.codePointAt(at);
        at += Character.charCount(cp);
        return CodePoints.of(cp);
    }

    private CodePoints escape(int end, boolean inClass) {
        at++; // '\'
        if (at >= end) {
            throw malformed("a '\\' at the end");
        }
        char c = pattern.charAt(at++);
        return switch (c) {
            case 'd' -> DIGITS;
            case 'D' -> DIGITS.complement();
            case 'w' -> WORD;
            case 'W' -> WORD.complement();
            case 's' -> SPACE;
            case 'S' -> SPACE.complement();
            case 't' -> CodePoints.of('\t');
            case 'n' -> CodePoints.of('\n');
            case 'r' -> CodePoints.of('\r');
            case 'f' -> CodePoints.of('\f');
            case 'v' -> CodePoints.of(0x0B);
            case '0' -> CodePoints.of(0);
            case 'x' -> CodePoints.of(hex(2, end));
            case 'u' -> {
                if (at < end && pattern.charAt(at) == '{') {
                    int close = pattern.indexOf('}', at);
                    if (close < 0 || close >= end || close - at - 1 < 1 || close - at - 1 > 6) {
                        throw malformed("a bad '\\u{...}'");
                    }
                    at++;
                    int cp = hex(close - at, end);
                    at = close + 1;
                    if (cp > CodePoints.MAX) {
                        throw error("a code point beyond U+10FFFF");
                    }
                    yield CodePoints.of(cp);
                }
                yield CodePoints.of(hex(4, end));
            }
            case 'b' -> {
                if (inClass) {
                    yield CodePoints.of('\b');
                }
                at--;
                throw error("a word boundary '\\b'");
            }
            case 'B' -> {
                at--;
                throw error("a word boundary '\\B'");
            }
            case 'p', 'P' -> {
                at--;
                throw error("a Unicode property escape '\\" + c + "'");
            }
            case 'k' -> {
                at--;
                throw error("a named back-reference '\\k'");
            }
            case 'c' -> {
                at--;
                throw error("a control escape '\\c'");
            }
            default -> {
                if (c >= '1' && c <= '9') {
                    at--;
                    throw error("a back-reference '\\" + c + "'");
                }
                at--;
                int cp = pattern.codePointAt(at);
                at += Character.charCount(cp);
                yield CodePoints.of(cp);
            }
        };
    }

    private int hex(int digits, int end) {
        if (at + digits > end) {
            throw malformed("a hexadecimal escape cut short");
        }
        int v = 0;
        for (int i = 0; i < digits; i++) {
            int d = Character.digit(pattern.charAt(at + i), 16);
            if (d < 0) {
                throw malformed("a hexadecimal escape with a non-hexadecimal digit");
            }
            v = v * 16 + d;
        }
        at += digits;
        return v;
    }
}
