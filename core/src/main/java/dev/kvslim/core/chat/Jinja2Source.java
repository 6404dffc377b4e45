package dev.kvslim.core.chat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A chat template's source lexed as Python Jinja2 lexes it, with the environment transformers renders chat templates
 * in ({@code trim_blocks=True}, {@code lstrip_blocks=True}, Jinja2's default {@code keep_trailing_newline=False}),
 * and written out for Jinjava with all whitespace handling already done:
 * <ul>
 * <li>{@code \r\n} and {@code \r} become {@code \n}, and one trailing newline is dropped;</li>
 * <li>{@code {%-}, {@code {{-} and {@code {#-} strip all whitespace before the tag, {@code -%}}, {@code -}}} and
 * {@code -#}} all whitespace after it;</li>
 * <li>lstrip_blocks: the spaces and tabs between the start of a line and a block or comment tag are dropped (not before
 * {@code {%+}, and not when other text precedes the tag on its line);</li>
 * <li>trim_blocks: the first newline after a block or comment tag is dropped (not after {@code +%}});</li>
 * <li>comments are dropped, {@code raw} blocks kept verbatim.</li>
 * </ul>
 * Jinjava then renders with its own trimming off: its lstrip_blocks strips spaces before a tag even when text precedes
 * it on the line, its {@code -} uses Java's whitespace (no no-break spaces), and its keep_trailing_newline strips the
 * output's last newline rather than the source's. Tags are found as Jinja2 finds them: outside string literals and
 * with brackets balanced ({@code {{ {'a': {'b': 1}} }}} is one expression), and in what Jinjava gets, adjacent braces
 * in an expression are spaced and a {@code {} ending a text is written as an expression, so Jinjava's simpler
 * scanner sees the same tags. One Python construct Jinjava's parser lacks is rewritten: the reversing slice
 * {@code [::-1]} becomes {@code |reverse} (Qwen3 walks {@code messages[::-1]}).
 */
final class Jinja2Source {

    /** The source for Jinjava, and for each of its lines the line of the original template it comes from. */
    record Prepared(String text, int[] originalLines) {

        /** The template line of Jinjava's line {@code line} (1-based), or {@code line} itself if out of range. */
        int originalLine(int line) {
            return line >= 1 && line <= originalLines.length ? originalLines[line - 1] : line;
        }
    }

    private static final Pattern REVERSE_SLICE = Pattern.compile("\\[\\s*:\\s*:\\s*-\\s*1\\s*]");
    private static final Pattern END_RAW =
            Pattern.compile("\\{%([-+]?)\\s*endraw\\s*(\\+%}|-%}|%})", Pattern.UNICODE_CHARACTER_CLASS);

    private final String sourceName;
    private final String src;
    private final StringBuilder out = new StringBuilder();
    private final List<Integer> lines = new ArrayList<>();
    private boolean atLineStart = true;
    private int linePos;
    private int line = 1;

    private Jinja2Source(String sourceName, String template) {
        this.sourceName = sourceName;
        String normalized = template.replace("\r\n", "\n").replace('\r', '\n');
        this.src = normalized.endsWith("\n") ? normalized.substring(0, normalized.length() - 1) : normalized;
    }

    /** Prepares {@code template}; {@code sourceName} names it in errors. */
    static Prepared prepare(String sourceName, String template) {
        Jinja2Source lexer = new Jinja2Source(sourceName, template);
        lexer.run();
        return new Prepared(
                lexer.out.toString(),
                lexer.lines.stream().mapToInt(Integer::intValue).toArray());
    }

    private void run() {
        int pos = 0;
        boolean lineStarting = true;
        while (pos < src.length()) {
            int tag = nextTag(pos);
            if (tag < 0) {
                text(pos, src.length());
                return;
            }
            char kind = src.charAt(tag + 1);
            char sign = tag + 2 < src.length() && (src.charAt(tag + 2) == '-' || src.charAt(tag + 2) == '+')
                    ? src.charAt(tag + 2)
                    : 0;
            int afterStart = tag + (sign == 0 ? 2 : 3);
            int rawEnd = kind == '%' ? rawBegin(afterStart) : -1;
            text(pos, strippedEnd(pos, tag, sign, kind != '{', lineStarting));
            int end;
            if (rawEnd >= 0) {
                end = raw(tag, rawEnd);
            } else if (kind == '#') {
                end = comment(tag, afterStart);
            } else {
                end = code(tag, kind, afterStart);
            }
            lineStarting = src.charAt(end - 1) == '\n';
            pos = end;
        }
    }

    /** The first {@code {{}, {@code {%} or {@code {#} at or after {@code from}, or -1. */
    private int nextTag(int from) {
        for (int i = src.indexOf('{', from); i >= 0 && i + 1 < src.length(); i = src.indexOf('{', i + 1)) {
            char next = src.charAt(i + 1);
            if (next == '{' || next == '%' || next == '#') {
                return i;
            }
        }
        return -1;
    }

    /**
     * Where the text {@code [from, tag)} ends once the tag's left whitespace control is applied: {@code -} strips all
     * whitespace; otherwise, for a block or comment tag not marked {@code +}, lstrip_blocks drops the line's leading
     * whitespace when nothing else stands before the tag on its line ({@code lineStarting}: the text begins a line).
     */
    private int strippedEnd(int from, int tag, char sign, boolean blockOrComment, boolean lineStarting) {
        int end = tag;
        if (sign == '-') {
            while (end > from && PythonStrings.isSpace(src.charAt(end - 1))) {
                end--;
            }
        } else if (sign != '+' && blockOrComment) {
            int lineStart = src.lastIndexOf('\n', tag - 1) + 1;
            boolean newlineInText = lineStart > from;
            if (lineStart < from) {
                lineStart = from;
            }
            if ((newlineInText || lineStarting) && lineStart < tag && allSpace(lineStart, tag)) {
                end = lineStart;
            }
        }
        return end;
    }

    /**
     * If the block tag whose code starts at {@code from} opens a raw block ({@code {% raw %}}, any sign and
     * spacing), the end of that tag including the whitespace a {@code -%}} strips (Jinja2 applies no trim_blocks
     * here); else -1.
     */
    private int rawBegin(int from) {
        int p = skipSpace(from);
        if (!src.startsWith("raw", p)) {
            return -1;
        }
        p = skipSpace(p + 3);
        if (src.startsWith("-%}", p)) {
            return skipSpace(p + 3);
        }
        return src.startsWith("%}", p) ? p + 2 : -1;
    }

    /** Writes a raw block whose opening tag ends at {@code bodyStart}; returns the end of its {@code endraw} tag. */
    private int raw(int tag, int bodyStart) {
        Matcher m = END_RAW.matcher(src).region(bodyStart, src.length());
        if (!m.find()) {
            throw error(tag, "missing end of raw directive");
        }
        char sign = m.group(1).isEmpty() ? 0 : m.group(1).charAt(0);
        int bodyEnd = strippedEnd(bodyStart, m.start(), sign, true, src.charAt(bodyStart - 1) == '\n');
        emit("{% raw %}", tag);
        emit(bodyStart, bodyEnd);
        emit("{% endraw %}", m.start());
        return blockEnd(m.end(2), m.group(2));
    }

    /** Skips the comment opened at {@code tag}; returns the end of its closing tag. */
    private int comment(int tag, int from) {
        for (int p = from; p + 1 < src.length(); p++) {
            if (src.startsWith("+#}", p) || src.startsWith("-#}", p)) {
                return blockEnd(p + 3, src.substring(p, p + 3));
            }
            if (src.startsWith("#}", p)) {
                return blockEnd(p + 2, "#}");
            }
        }
        throw error(tag, "missing end of comment tag");
    }

    /**
     * Writes the block ({@code kind '%'}) or expression ({@code kind '{'}) opened at {@code tag}, its code starting at
     * {@code from}; returns the end of its closing tag. The tag ends at the first closing delimiter outside string
     * literals with brackets balanced.
     */
    private int code(int tag, char kind, int from) {
        Deque<Character> open = new ArrayDeque<>();
        emit(kind == '%' ? "{%" : "{{", tag);
        int p = from;
        while (p < src.length()) {
            if (open.isEmpty()) {
                String close = closing(kind, p);
                if (close != null) {
                    emit(kind == '%' ? " %}" : " }}", p);
                    return blockEnd(p + close.length(), close);
                }
            }
            char c = src.charAt(p);
            Matcher reverse = c == '[' ? REVERSE_SLICE.matcher(src).region(p, src.length()) : null;
            if (reverse != null && reverse.lookingAt()) {
                emit("|reverse", p);
                p = reverse.end();
                continue;
            }
            if (c == '\'' || c == '"') {
                int end = stringEnd(p);
                emit(p, end);
                p = end;
                continue;
            }
            if (c == '(' || c == '[' || c == '{') {
                open.push(c == '(' ? ')' : c == '[' ? ']' : '}');
            } else if (c == ')' || c == ']' || c == '}') {
                if (open.isEmpty()) {
                    throw error(p, "unexpected '" + c + "'");
                }
                char expected = open.pop();
                if (expected != c) {
                    throw error(p, "unexpected '" + c + "', expected '" + expected + "'");
                }
            }
            if ((c == '{' || c == '}') && out.charAt(out.length() - 1) == c) {
                emit(" ", p);
            }
            emit(p, p + 1);
            p++;
        }
        throw error(
                tag,
                "unexpected end of template: the " + (kind == '%' ? "block" : "expression")
                        + " opened here is never closed");
    }

    /** The closing delimiter at {@code p} of a block or expression with balanced brackets, or null. */
    private String closing(char kind, int p) {
        String[] candidates = kind == '%' ? new String[] {"+%}", "-%}", "%}"} : new String[] {"-}}", "}}"};
        for (String candidate : candidates) {
            if (src.startsWith(candidate, p)) {
                return candidate;
            }
        }
        return null;
    }

    /** Where the text after a closing delimiter ending at {@code end} starts, past what {@code -}/trim_blocks eat. */
    private int blockEnd(int end, String close) {
        if (close.startsWith("-")) {
            return skipSpace(end);
        }
        boolean trims = !close.startsWith("+") && !close.equals("}}");
        return trims && end < src.length() && src.charAt(end) == '\n' ? end + 1 : end;
    }

    /** The end of the string literal opening at {@code p} (backslash escapes skipped). */
    private int stringEnd(int p) {
        char quote = src.charAt(p);
        for (int i = p + 1; i < src.length(); i++) {
            char c = src.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == quote) {
                return i + 1;
            }
        }
        throw error(p, "unterminated string literal");
    }

    /** Writes the text {@code [from, to)}; a final {@code {} goes out as an expression, lest it open a tag. */
    private void text(int from, int to) {
        if (to > from && src.charAt(to - 1) == '{') {
            emit(from, to - 1);
            emit("{{ '{' }}", to - 1);
        } else {
            emit(from, to);
        }
    }

    private int skipSpace(int p) {
        while (p < src.length() && PythonStrings.isSpace(src.charAt(p))) {
            p++;
        }
        return p;
    }

    private boolean allSpace(int from, int to) {
        for (int i = from; i < to; i++) {
            if (!PythonStrings.isSpace(src.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private void emit(int from, int to) {
        for (int i = from; i < to; i++) {
            put(src.charAt(i), i);
        }
    }

    private void emit(String s, int at) {
        for (int i = 0; i < s.length(); i++) {
            put(s.charAt(i), at);
        }
    }

    /** Appends {@code c}, which stands for the character at {@code at} in the template, keeping the line map. */
    private void put(char c, int at) {
        if (atLineStart) {
            lines.add(lineOf(at));
            atLineStart = false;
        }
        out.append(c);
        atLineStart = c == '\n';
    }

    /** The 1-based line of position {@code at}; positions only grow between calls. */
    private int lineOf(int at) {
        for (; linePos < at && linePos < src.length(); linePos++) {
            if (src.charAt(linePos) == '\n') {
                line++;
            }
        }
        return line;
    }

    private ChatTemplateException error(int at, String problem) {
        int errorLine = 1;
        for (int i = 0; i < at && i < src.length(); i++) {
            if (src.charAt(i) == '\n') {
                errorLine++;
            }
        }
        return new ChatTemplateException(sourceName, "line " + errorLine + ": " + problem);
    }
}
