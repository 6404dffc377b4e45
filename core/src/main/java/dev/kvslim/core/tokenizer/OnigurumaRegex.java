package dev.kvslim.core.tokenizer;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Compiles a pre-tokenizer regex written for Oniguruma, the engine Hugging Face {@code tokenizers} runs them with
 * (default syntax, UTF-8), into a {@link java.util.regex.Pattern} that matches the same strings in the same way.
 *
 * <p>The pattern text is kept as it is; it is checked to use only constructs that mean the same in both engines,
 * and compiled with {@link Pattern#UNICODE_CHARACTER_CLASS} (Unicode {@code \s}, {@code \d}, case folding),
 * {@link Pattern#UNIX_LINES} and {@link Pattern#MULTILINE} (Oniguruma's {@code .}, {@code ^} and {@code $} know
 * only {@code \n} as a line end, and {@code ^}, {@code $} are line anchors). Anything else is refused rather than
 * matched differently, among them: {@code {n,m}+} (in Oniguruma a greedy interval repeated, in Java possessive),
 * {@code {n}?} (in Oniguruma optional), {@code \h} (hex digit there, horizontal space here), {@code \w} and
 * {@code \b}, POSIX brackets, nested classes, inline options other than {@code (?i:...)}, and letters in a
 * case-insensitive group that fold differently ({@code i}, non-ASCII letters, {@code ss}, {@code st}, {@code ff},
 * {@code fi}, {@code fl}, which Oniguruma also matches against one-character ligatures).
 */
final class OnigurumaRegex {

    private static final int FLAGS = Pattern.UNICODE_CHARACTER_CLASS | Pattern.UNIX_LINES | Pattern.MULTILINE;
    /** Unicode general categories, which {@code \p{..}} names the same in both engines. */
    private static final Set<String> CATEGORIES = Set.of(
            "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Ps",
            "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Cs", "Co",
            "Cn");
    /** Letter pairs that Oniguruma's case-insensitive matching also finds as one ligature or sharp s. */
    private static final Set<String> MULTI_CHARACTER_FOLDS = Set.of("ss", "st", "ff", "fi", "fl");

    private final String pattern;
    private int pos;
    /** For each open group, whether it is case-insensitive. */
    private final Deque<Boolean> groups = new ArrayDeque<>();

    private OnigurumaRegex(String pattern) {
        this.pattern = pattern;
    }

    /**
     * The Java pattern that matches as Oniguruma matches {@code pattern}.
     *
     * @throws IllegalArgumentException naming the construct and its position, if the pattern uses one this class
     *                                  does not translate, or is not a valid regex
     */
    static Pattern compile(String pattern) {
        new OnigurumaRegex(pattern).check();
        try {
            return Pattern.compile(pattern, FLAGS);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("invalid regex /" + pattern + "/: " + e.getDescription(), e);
        }
    }

    private void check() {
        boolean quantifiable = false;
        while (pos < pattern.length()) {
            char c = pattern.charAt(pos);
            switch (c) {
                case '\\' -> quantifiable = escape(false);
                case '[' -> {
                    characterClass();
                    quantifiable = true;
                }
                case '(' -> {
                    group();
                    quantifiable = false;
                }
                case ')' -> {
                    if (groups.isEmpty()) {
                        throw unsupported("unbalanced ')'");
                    }
                    groups.pop();
                    pos++;
                    quantifiable = true;
                }
                case '?', '*', '+', '{' -> {
                    if (!quantifiable) {
                        throw unsupported("a quantifier with nothing to repeat");
                    }
                    quantifier();
                    quantifiable = false;
                }
                case '|', '^', '$' -> {
                    pos++;
                    quantifiable = false;
                }
                default -> {
                    literal();
                    quantifiable = true;
                }
            }
        }
        if (!groups.isEmpty()) {
            throw unsupported("unclosed '('");
        }
    }

    /** An escape outside or inside a class; returns whether it matches a character (and so can be repeated). */
    private boolean escape(boolean inClass) {
        if (pos + 1 >= pattern.length()) {
            throw unsupported("a trailing backslash");
        }
        char e = pattern.charAt(pos + 1);
        int start = pos;
        pos += 2;
        if (!Character.isLetterOrDigit(e)) {
            return true;
        }
        if (caseInsensitive()) {
            throw unsupportedAt(start, "escape '\\" + e + "' in a case-insensitive group");
        }
        switch (e) {
            case 'r', 'n', 't', 'f', 's', 'S', 'd', 'D' -> {
                return true;
            }
            case 'p', 'P' -> {
                int close = pattern.indexOf('}', pos);
                if (pos >= pattern.length() || pattern.charAt(pos) != '{' || close < 0) {
                    throw unsupportedAt(start, "'\\" + e + "' without a {name}");
                }
                String name = pattern.substring(pos + 1, close);
                if (!CATEGORIES.contains(name)) {
                    throw unsupportedAt(
                            start,
                            "property \\" + e + "{" + name + "} (supported: general categories "
                                    + "such as L, Lu, N, P)");
                }
                pos = close + 1;
                return true;
            }
            case 'u' -> {
                int code = hex(start, pos, pos + 4);
                if (code >= 0xD800 && code <= 0xDFFF) {
                    throw unsupportedAt(start, "a surrogate code unit");
                }
                pos += 4;
                return true;
            }
            case 'x' -> {
                if (pos < pattern.length() && pattern.charAt(pos) == '{') {
                    int close = pattern.indexOf('}', pos);
                    if (close < 0) {
                        throw unsupportedAt(start, "unclosed '\\x{'");
                    }
                    hex(start, pos + 1, close);
                    pos = close + 1;
                } else {
                    hex(start, pos, pos + 2);
                    pos += 2;
                }
                return true;
            }
            case 'A', 'z' -> {
                if (inClass) {
                    throw unsupportedAt(start, "anchor '\\" + e + "' in a character class");
                }
                return false;
            }
            default -> throw unsupportedAt(start, "escape '\\" + e + "'");
        }
    }

    private int hex(int escapeStart, int from, int to) {
        if (to > pattern.length() || to <= from) {
            throw unsupportedAt(escapeStart, "a short hex escape");
        }
        try {
            return Integer.parseInt(pattern.substring(from, to), 16);
        } catch (NumberFormatException e) {
            throw unsupportedAt(escapeStart, "a malformed hex escape");
        }
    }

    /** {@code [...]}: literals, ranges of literals, and escapes, without nesting or set operations. */
    private void characterClass() {
        int start = pos;
        if (caseInsensitive()) {
            throw unsupported("a character class inside a case-insensitive group");
        }
        pos++;
        if (pos < pattern.length() && pattern.charAt(pos) == '^') {
            pos++;
        }
        if (pos < pattern.length() && pattern.charAt(pos) == ']') {
            throw unsupported("']' first in a character class");
        }
        boolean previousIsClass = false;
        while (true) {
            if (pos >= pattern.length()) {
                throw unsupportedAt(start, "unclosed '['");
            }
            char c = pattern.charAt(pos);
            if (c == ']') {
                pos++;
                return;
            }
            if (c == '[') {
                throw unsupported("'[' inside a character class (nested class or POSIX bracket)");
            }
            if (c == '&' && pattern.startsWith("&&", pos)) {
                throw unsupported("'&&' (class intersection)");
            }
            if (c == '-' && previousIsClass && pos + 1 < pattern.length() && pattern.charAt(pos + 1) != ']') {
                throw unsupported("a range starting at a class escape");
            }
            if (c == '\\') {
                char e = pos + 1 < pattern.length() ? pattern.charAt(pos + 1) : 0;
                escape(true);
                previousIsClass = "sSdDpP".indexOf(e) >= 0;
            } else {
                pos += Character.charCount(pattern.codePointAt(pos));
                previousIsClass = false;
            }
        }
    }

    /** {@code (}, {@code (?:}, {@code (?i:}, {@code (?>}, or a lookaround. */
    private void group() {
        int start = pos;
        boolean insensitive = caseInsensitive();
        if (pattern.startsWith("(?", pos)) {
            if (pattern.startsWith("(?i:", pos)) {
                insensitive = true;
                pos += 4;
            } else if (pattern.startsWith("(?<=", pos) || pattern.startsWith("(?<!", pos)) {
                pos += 4;
            } else if (pattern.startsWith("(?:", pos)
                    || pattern.startsWith("(?=", pos)
                    || pattern.startsWith("(?!", pos)
                    || pattern.startsWith("(?>", pos)) {
                pos += 3;
            } else {
                throw unsupportedAt(
                        start,
                        "group '" + pattern.substring(pos, Math.min(pos + 4, pattern.length()))
                                + "…' (supported: ( (?: (?i: (?> (?= (?! (?<= (?<!)");
            }
        } else {
            pos++;
        }
        groups.push(insensitive);
    }

    /** {@code ?}, {@code *}, {@code +}, {@code {n}}, {@code {n,}}, {@code {n,m}}, then a lazy or possessive mark. */
    private void quantifier() {
        char c = pattern.charAt(pos);
        if (c != '{') {
            pos++;
            if (pos < pattern.length() && (pattern.charAt(pos) == '?' || pattern.charAt(pos) == '+')) {
                pos++;
            }
            return;
        }
        int start = pos;
        int close = pattern.indexOf('}', pos);
        String body = close < 0 ? "" : pattern.substring(pos + 1, close);
        if (!body.matches("[0-9]+(,[0-9]*)?")) {
            throw unsupported("'{' that is not an interval {n}, {n,} or {n,m}");
        }
        pos = close + 1;
        if (pos < pattern.length() && pattern.charAt(pos) == '+') {
            throw unsupportedAt(start, "'{..}+' (Oniguruma repeats the interval; Java would make it possessive)");
        }
        if (pos < pattern.length() && pattern.charAt(pos) == '?') {
            if (!body.contains(",")) {
                throw unsupportedAt(start, "'{n}?' (Oniguruma makes it optional; Java reads it as lazy)");
            }
            pos++;
        }
    }

    private void literal() {
        int c = pattern.codePointAt(pos);
        if (caseInsensitive() && Character.isLetter(c)) {
            if (c > 0x7F || c == 'i' || c == 'I') {
                throw unsupported("letter '" + Character.toString(c) + "' in a case-insensitive group");
            }
            if (pos > 0
                    && MULTI_CHARACTER_FOLDS.contains(
                            pattern.substring(pos - 1, pos + 1).toLowerCase(Locale.ROOT))) {
                throw unsupported("'" + pattern.substring(pos - 1, pos + 1) + "' in a case-insensitive group");
            }
        }
        pos += Character.charCount(c);
    }

    private boolean caseInsensitive() {
        return !groups.isEmpty() && groups.peek();
    }

    private IllegalArgumentException unsupported(String what) {
        return unsupportedAt(pos, what);
    }

    private IllegalArgumentException unsupportedAt(int at, String what) {
        return new IllegalArgumentException("regex /" + pattern + "/ uses " + what + " at index " + at
                + ", which Oniguruma and java.util.regex read differently or this loader does not translate");
    }
}
