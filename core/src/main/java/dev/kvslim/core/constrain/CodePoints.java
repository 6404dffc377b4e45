package dev.kvslim.core.constrain;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** An immutable set of Unicode code points, as sorted, disjoint, non-adjacent ranges. */
public final class CodePoints {

    public static final int MAX = 0x10FFFF;
    public static final CodePoints NONE = new CodePoints(new int[0]);
    /** Every character (surrogates are left out when the set is turned into bytes). */
    public static final CodePoints ALL = range(0, MAX);

    private final int[] bounds; // lo0, hi0, lo1, hi1, ...

    private CodePoints(int[] bounds) {
        this.bounds = bounds;
    }

    public static CodePoints range(int lo, int hi) {
        if (lo < 0 || hi > MAX || lo > hi) {
            throw new IllegalArgumentException("not a code point range: " + lo + ".." + hi);
        }
        return new CodePoints(new int[] {lo, hi});
    }

    public static CodePoints of(int c) {
        return range(c, c);
    }

    /** The characters of {@code chars}. */
    public static CodePoints of(String chars) {
        CodePoints set = NONE;
        for (int i = 0; i < chars.length(); ) {
            int c = chars.codePointAt(i);
            set = set.union(of(c));
            i += Character.charCount(c);
        }
        return set;
    }

    public int size() {
        return bounds.length / 2;
    }

    public int lo(int i) {
        return bounds[2 * i];
    }

    public int hi(int i) {
        return bounds[2 * i + 1];
    }

    public boolean isEmpty() {
        return bounds.length == 0;
    }

    public boolean contains(int c) {
        for (int i = 0; i < bounds.length; i += 2) {
            if (c >= bounds[i] && c <= bounds[i + 1]) {
                return true;
            }
        }
        return false;
    }

    public CodePoints union(CodePoints other) {
        List<int[]> all = new ArrayList<>();
        for (int i = 0; i < size(); i++) {
            all.add(new int[] {lo(i), hi(i)});
        }
        for (int i = 0; i < other.size(); i++) {
            all.add(new int[] {other.lo(i), other.hi(i)});
        }
        all.sort((a, b) -> Integer.compare(a[0], b[0]));
        int[] out = new int[2 * all.size()];
        int n = 0;
        for (int[] r : all) {
            if (n > 0 && r[0] <= out[n - 1] + 1) {
                out[n - 1] = Math.max(out[n - 1], r[1]);
            } else {
                out[n++] = r[0];
                out[n++] = r[1];
            }
        }
        return new CodePoints(Arrays.copyOf(out, n));
    }

    public CodePoints complement() {
        int[] out = new int[bounds.length + 2];
        int n = 0;
        int next = 0;
        for (int i = 0; i < bounds.length; i += 2) {
            if (bounds[i] > next) {
                out[n++] = next;
                out[n++] = bounds[i] - 1;
            }
            next = bounds[i + 1] + 1;
        }
        if (next <= MAX) {
            out[n++] = next;
            out[n++] = MAX;
        }
        return new CodePoints(Arrays.copyOf(out, n));
    }

    public CodePoints intersect(CodePoints other) {
        return complement().union(other.complement()).complement();
    }

    public CodePoints minus(CodePoints other) {
        return intersect(other.complement());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CodePoints other && Arrays.equals(bounds, other.bounds);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bounds);
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < size(); i++) {
            s.append(i == 0 ? "" : " ").append(Integer.toHexString(lo(i)));
            if (hi(i) != lo(i)) {
                s.append('-').append(Integer.toHexString(hi(i)));
            }
        }
        return s.append(']').toString();
    }
}
