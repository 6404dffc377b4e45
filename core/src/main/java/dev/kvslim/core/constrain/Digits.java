package dev.kvslim.core.constrain;

import java.util.ArrayList;
import java.util.List;

/**
 * Grammars of the decimal integers in a range, written without leading zeros: the range is cut into runs of equal
 * length, and each run into a prefix shared by both ends followed by digit ranges, the classic construction of a
 * regular expression for a numeric range.
 */
final class Digits {

    private Digits() {}

    /** The integers from {@code lo} to {@code hi} (both included), negative ones with a minus sign. */
    static Expr integers(long lo, long hi) {
        if (lo > hi) {
            throw new IllegalArgumentException("an empty range " + lo + ".." + hi);
        }
        List<Expr> options = new ArrayList<>();
        if (lo < 0) {
            options.add(Expr.seq(Expr.literal("-"), naturals(Math.max(1, -hi), -lo)));
        }
        if (hi >= 0) {
            options.add(naturals(Math.max(0, lo), hi));
        }
        return Expr.alt(options);
    }

    /** The integers from {@code lo} to {@code hi}, both at least 0. */
    static Expr naturals(long lo, long hi) {
        if (lo < 0 || lo > hi) {
            throw new IllegalArgumentException("not a range of naturals: " + lo + ".." + hi);
        }
        List<Expr> options = new ArrayList<>();
        int loLength = Long.toString(lo).length();
        int hiLength = Long.toString(hi).length();
        for (int length = loLength; length <= hiLength; length++) {
            long first = length == loLength ? lo : pow10(length - 1);
            long last = length == hiLength ? hi : pow10(length) - 1;
            options.add(sameLength(Long.toString(first), Long.toString(last)));
        }
        return Expr.alt(options);
    }

    /** The strings of digits from {@code a} to {@code b}, both of the same length. */
    private static Expr sameLength(String a, String b) {
        int n = a.length();
        if (n == 0) {
            return Expr.EMPTY;
        }
        char x = a.charAt(0);
        char y = b.charAt(0);
        String restA = a.substring(1);
        String restB = b.substring(1);
        if (x == y) {
            return Expr.seq(Expr.byteRange(x, x), sameLength(restA, restB));
        }
        List<Expr> options = new ArrayList<>();
        String zeros = "0".repeat(n - 1);
        String nines = "9".repeat(n - 1);
        boolean fullA = restA.equals(zeros);
        boolean fullB = restB.equals(nines);
        // x followed by restA..99, the digits strictly between with anything after, y followed by 00..restB
        char from = fullA ? x : (char) (x + 1);
        char to = fullB ? y : (char) (y - 1);
        if (!fullA) {
            options.add(Expr.seq(Expr.byteRange(x, x), sameLength(restA, nines)));
        }
        if (from <= to) {
            options.add(Expr.seq(Expr.byteRange(from, to), new Expr.Repeat(Expr.byteRange('0', '9'), n - 1, n - 1)));
        }
        if (!fullB) {
            options.add(Expr.seq(Expr.byteRange(y, y), sameLength(zeros, restB)));
        }
        return Expr.alt(options);
    }

    private static long pow10(int e) {
        long p = 1;
        for (int i = 0; i < e; i++) {
            p *= 10;
        }
        return p;
    }
}
