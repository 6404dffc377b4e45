package dev.kvslim.core.constrain;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A grammar expression over bytes: what the JSON Schema and regular-expression compilers produce and {@link Grammar}
 * compiles into rules. Text is matched as UTF-8 bytes; {@link #codePoints} turns ranges of characters into the byte
 * sequences that encode them.
 */
public sealed interface Expr {

    /** One byte out of a set (bit {@code b} of the 256-bit set {@code words} says whether byte {@code b} is in). */
    record Bytes(long[] words) implements Expr {
        public Bytes {
            if (words.length != 4) {
                throw new IllegalArgumentException("a byte set has 4 words, got " + words.length);
            }
            words = words.clone();
        }

        public boolean contains(int b) {
            return (words[b >>> 6] >>> (b & 63) & 1) != 0;
        }

        public boolean isEmpty() {
            return (words[0] | words[1] | words[2] | words[3]) == 0;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Bytes other && Arrays.equals(words, other.words);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(words);
        }

        @Override
        public String toString() {
            return "Bytes" + Arrays.toString(words);
        }
    }

    /** The items one after the other (empty: the empty string). */
    record Seq(List<Expr> items) implements Expr {
        public Seq {
            items = List.copyOf(items);
        }
    }

    /** One of the options (none: matches nothing). */
    record Alt(List<Expr> options) implements Expr {
        public Alt {
            options = List.copyOf(options);
        }
    }

    /** The rule of that name (rules may refer to each other, so recursion is possible). */
    record Ref(String rule) implements Expr {}

    /** {@code body} from {@code min} to {@code max} times; {@code max} -1 for no limit. */
    record Repeat(Expr body, int min, int max) implements Expr {
        public Repeat {
            if (min < 0 || (max != -1 && max < min)) {
                throw new IllegalArgumentException("a repetition from " + min + " to " + max + " times");
            }
        }
    }

    /** The empty string. */
    Expr EMPTY = new Seq(List.of());

    /** Matches nothing. */
    Expr NOTHING = new Alt(List.of());

    static Expr seq(Expr... items) {
        return items.length == 1 ? items[0] : new Seq(List.of(items));
    }

    static Expr alt(Expr... options) {
        return options.length == 1 ? options[0] : new Alt(List.of(options));
    }

    static Expr alt(List<Expr> options) {
        return options.size() == 1 ? options.getFirst() : new Alt(options);
    }

    static Expr optional(Expr e) {
        return new Repeat(e, 0, 1);
    }

    static Expr star(Expr e) {
        return new Repeat(e, 0, -1);
    }

    /** The UTF-8 bytes of {@code text}, in order. */
    static Expr literal(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        List<Expr> items = new ArrayList<>(bytes.length);
        for (byte b : bytes) {
            items.add(byteRange(b & 0xFF, b & 0xFF));
        }
        return items.size() == 1 ? items.getFirst() : new Seq(items);
    }

    /** One byte from {@code lo} to {@code hi}, both included. */
    static Bytes byteRange(int lo, int hi) {
        long[] w = new long[4];
        for (int b = lo; b <= hi; b++) {
            w[b >>> 6] |= 1L << (b & 63);
        }
        return new Bytes(w);
    }

    /** One byte out of those in {@code chars} (ASCII characters). */
    static Bytes anyOf(String chars) {
        long[] w = new long[4];
        for (int i = 0; i < chars.length(); i++) {
            int b = chars.charAt(i);
            if (b > 127) {
                throw new IllegalArgumentException("not an ASCII character: " + chars.charAt(i));
            }
            w[b >>> 6] |= 1L << (b & 63);
        }
        return new Bytes(w);
    }

    /**
     * One character out of the code point ranges {@code ranges} (pairs lo, hi, both included; surrogates are never
     * characters and are left out), as the alternatives of its UTF-8 byte sequences.
     */
    static Expr codePoints(CodePoints ranges) {
        List<Expr> options = new ArrayList<>();
        long[] ascii = new long[4];
        for (int i = 0; i < ranges.size(); i++) {
            int lo = ranges.lo(i);
            int hi = ranges.hi(i);
            if (lo <= 0x7F) {
                for (int c = lo; c <= Math.min(hi, 0x7F); c++) {
                    ascii[c >>> 6] |= 1L << (c & 63);
                }
                lo = 0x80;
            }
            if (lo <= hi) {
                utf8(lo, hi, options);
            }
        }
        if ((ascii[0] | ascii[1]) != 0) {
            options.addFirst(new Bytes(ascii));
        }
        return alt(options);
    }

    /** Appends byte-sequence alternatives for code points lo..hi (all at least 0x80). */
    private static void utf8(int lo, int hi, List<Expr> out) {
        // split where the encoded length changes, around the surrogates, then where a continuation byte wraps
        int[] lengthEnds = {0x7FF, 0xFFFF, 0x10FFFF};
        for (int end : lengthEnds) {
            if (lo <= end && hi > end) {
                utf8(lo, end, out);
                utf8(end + 1, hi, out);
                return;
            }
        }
        if (lo <= 0xDFFF && hi >= 0xD800) {
            if (lo < 0xD800) {
                utf8(lo, 0xD7FF, out);
            }
            if (hi > 0xDFFF) {
                utf8(0xE000, hi, out);
            }
            return;
        }
        int n = hi <= 0x7FF ? 2 : hi <= 0xFFFF ? 3 : 4;
        for (int i = 1; i < n; i++) {
            int m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m)) {
                if ((lo & m) != 0) {
                    utf8(lo, lo | m, out);
                    utf8((lo | m) + 1, hi, out);
                    return;
                }
                if ((hi & m) != m) {
                    utf8(lo, (hi & ~m) - 1, out);
                    utf8(hi & ~m, hi, out);
                    return;
                }
            }
        }
        byte[] a = new String(Character.toChars(lo)).getBytes(StandardCharsets.UTF_8);
        byte[] b = new String(Character.toChars(hi)).getBytes(StandardCharsets.UTF_8);
        List<Expr> items = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            items.add(byteRange(a[i] & 0xFF, b[i] & 0xFF));
        }
        out.add(new Seq(items));
    }
}
