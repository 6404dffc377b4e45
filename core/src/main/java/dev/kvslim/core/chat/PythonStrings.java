package dev.kvslim.core.chat;

import java.util.ArrayList;
import java.util.List;

/**
 * Python's {@code str} methods that chat templates call, with Python's semantics: whitespace is what
 * {@code str.isspace()} accepts (Java's {@link Character#isWhitespace} misses the no-break spaces and U+0085), and
 * {@code split} takes a plain separator, keeps empty pieces and never drops trailing ones (unlike
 * {@link String#split}).
 */
final class PythonStrings {

    private PythonStrings() {}

    /** Python's {@code str.isspace()} for one UTF-16 unit (every Unicode space is in the BMP). */
    static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }

    /** {@code s.strip(chars)}; {@code chars == null} strips whitespace. */
    static String strip(String s, String chars) {
        return rstrip(lstrip(s, chars), chars);
    }

    /** {@code s.lstrip(chars)}; {@code chars == null} strips whitespace. */
    static String lstrip(String s, String chars) {
        int start = 0;
        while (start < s.length() && stripped(s.charAt(start), chars)) {
            start++;
        }
        return s.substring(start);
    }

    /** {@code s.rstrip(chars)}; {@code chars == null} strips whitespace. */
    static String rstrip(String s, String chars) {
        int end = s.length();
        while (end > 0 && stripped(s.charAt(end - 1), chars)) {
            end--;
        }
        return s.substring(0, end);
    }

    /**
     * {@code s.split(separator)}: the pieces between occurrences of {@code separator}, empty ones included; with
     * {@code separator == null}, the runs of non-whitespace.
     */
    static List<String> split(String s, String separator) {
        List<String> pieces = new ArrayList<>();
        if (separator == null) {
            int i = 0;
            while (i < s.length()) {
                while (i < s.length() && isSpace(s.charAt(i))) {
                    i++;
                }
                int start = i;
                while (i < s.length() && !isSpace(s.charAt(i))) {
                    i++;
                }
                if (i > start) {
                    pieces.add(s.substring(start, i));
                }
            }
            return pieces;
        }
        if (separator.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        int start = 0;
        for (int at = s.indexOf(separator); at >= 0; at = s.indexOf(separator, start)) {
            pieces.add(s.substring(start, at));
            start = at + separator.length();
        }
        pieces.add(s.substring(start));
        return pieces;
    }

    private static boolean stripped(char c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }
}
