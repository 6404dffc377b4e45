package dev.kvslim.tasks.synthetic;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Filler text of an exact length with the task's records woven in at random word boundaries, so that a record is
 * equally likely at any depth of the context. Filler is lower-case words from a small fixed list: no digits, capitals
 * or punctuation, so it never looks like a name, a number or an assignment of a task.
 */
final class Haystack {

    /** Filler words; every length from 1 to 7 occurs, which lets {@link #filler} hit any length exactly. */
    static final List<String> WORDS = List.of(
            "a", "to", "of", "in", "on", "the", "sun", "sky", "and", "old", "tree", "hill", "bird", "road", "rain",
            "grass", "river", "stone", "cloud", "green", "little", "garden", "yellow", "forest", "morning", "village",
            "evening", "country");

    private static final int LONGEST =
            WORDS.stream().mapToInt(String::length).max().orElseThrow();

    private Haystack() {}

    /**
     * Exactly {@code length} characters: filler words and {@code records} (in their order), each piece preceded by
     * one space.
     */
    static String weave(SplittableRandom random, int length, List<String> records) {
        int recordChars = records.stream().mapToInt(r -> 1 + r.length()).sum();
        List<String> words = filler(random, length - recordChars);
        int[] slots = random.ints(records.size(), 0, words.size() + 1).sorted().toArray();
        StringBuilder text = new StringBuilder(length);
        int next = 0;
        for (int w = 0; w <= words.size(); w++) {
            while (next < slots.length && slots[next] == w) {
                text.append(' ').append(records.get(next++));
            }
            if (w < words.size()) {
                text.append(' ').append(words.get(w));
            }
        }
        return text.toString();
    }

    /**
     * Random words that take exactly {@code chars} characters with one space before each. Only a budget of a single
     * character, which no word fits, gives an empty word (a lone space).
     */
    static List<String> filler(SplittableRandom random, int chars) {
        if (chars < 0) {
            throw new IllegalArgumentException("negative filler length " + chars);
        }
        List<String> words = new ArrayList<>();
        int left = chars;
        while (left > 0) {
            if (left == 1) {
                words.add("");
                left = 0;
            } else if (left <= LONGEST + 1) {
                int last = left - 1;
                List<String> fitting =
                        WORDS.stream().filter(w -> w.length() == last).toList();
                words.add(fitting.get(random.nextInt(fitting.size())));
                left = 0;
            } else {
                String word = WORDS.get(random.nextInt(WORDS.size()));
                if (left - 1 - word.length() != 1) {
                    words.add(word);
                    left -= 1 + word.length();
                }
            }
        }
        return words;
    }

    /**
     * {@code count} distinct upper-case names of {@code width} letters that share no letter, so that any one letter
     * of a name tells it from the others (at most 26 / width names).
     */
    static List<String> disjointNames(SplittableRandom random, int count, int width) {
        if (count * width > 26) {
            throw new IllegalArgumentException(count + " names of " + width + " letters need more than 26 letters");
        }
        char[] letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ".toCharArray();
        shuffle(random, letters);
        List<String> names = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            names.add(new String(letters, i * width, width));
        }
        return names;
    }

    /** {@code count} distinct numbers below {@code 10^digits}, written with exactly {@code digits} digits. */
    static List<String> distinctNumbers(SplittableRandom random, int count, int digits) {
        int bound = (int) Math.pow(10, digits);
        return random.ints(0, bound)
                .distinct()
                .limit(count)
                .mapToObj(v -> digits(v, digits))
                .toList();
    }

    /** {@code value} with leading zeros to {@code width} digits. */
    static String digits(int value, int width) {
        char[] out = new char[width];
        Arrays.fill(out, '0');
        String s = Integer.toString(value);
        s.getChars(0, s.length(), out, width - s.length());
        return new String(out);
    }

    private static void shuffle(SplittableRandom random, char[] a) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            char t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
