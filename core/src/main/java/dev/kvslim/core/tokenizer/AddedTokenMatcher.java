package dev.kvslim.core.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntConsumer;

/**
 * Finds added tokens in a text as Hugging Face's {@code AddedVocabulary.find_matches} does: the leftmost match
 * first, the longest token at that position, then on from where the match ended; a {@code singleWord} token touched
 * by a word character is passed over, {@code lstrip} and {@code rstrip} widen the match over neighbouring whitespace.
 */
final class AddedTokenMatcher {

    /** A token and the text it is found as: its content, or its content normalized. */
    private record Entry(String text, AddedToken token) {}

    /** Entries by the first UTF-16 unit of their text, longest first. */
    private final Map<Character, Entry[]> byFirstChar = new HashMap<>();

    private final boolean[] isFirstChar = new boolean[Character.MAX_VALUE + 1];

    /** A matcher for {@code tokens}, each found as {@code textOf(token)} (tokens whose text is empty never match). */
    AddedTokenMatcher(List<AddedToken> tokens, Function<AddedToken, String> textOf) {
        Map<Character, List<Entry>> lists = new HashMap<>();
        for (AddedToken token : tokens) {
            String text = textOf.apply(token);
            if (!text.isEmpty()) {
                lists.computeIfAbsent(text.charAt(0), c -> new ArrayList<>()).add(new Entry(text, token));
                isFirstChar[text.charAt(0)] = true;
            }
        }
        lists.forEach((c, list) -> byFirstChar.put(
                c,
                list.stream()
                        .sorted(Comparator.comparingInt((Entry e) -> e.text().length())
                                .reversed())
                        .toArray(Entry[]::new)));
    }

    /**
     * Cuts {@code text} at the tokens found: each stretch between tokens goes to {@code between} (never empty),
     * each token's id to {@code tokens}, in text order.
     */
    void split(String text, Consumer<String> between, IntConsumer tokens) {
        int done = 0;
        int searchFrom = 0;
        while (true) {
            int start = -1;
            Entry match = null;
            for (int i = searchFrom; i < text.length() && match == null; i++) {
                if (isFirstChar[text.charAt(i)]) {
                    for (Entry candidate : byFirstChar.get(text.charAt(i))) {
                        if (text.startsWith(candidate.text(), i)) {
                            match = candidate;
                            start = i;
                            break;
                        }
                    }
                }
            }
            if (match == null) {
                break;
            }
            AddedToken found = match.token();
            int stop = start + match.text().length();
            searchFrom = stop;
            if (found.singleWord()
                    && (start > 0 && isWordChar(text.codePointBefore(start))
                            || stop < text.length() && isWordChar(text.codePointAt(stop)))) {
                continue;
            }
            if (found.lstrip()) {
                int spaceStart = start;
                while (spaceStart > 0 && isWhiteSpace(text.codePointBefore(spaceStart))) {
                    spaceStart -= Character.charCount(text.codePointBefore(spaceStart));
                }
                start = Math.max(spaceStart, done);
            }
            if (found.rstrip()) {
                while (stop < text.length() && isWhiteSpace(text.codePointAt(stop))) {
                    stop += Character.charCount(text.codePointAt(stop));
                }
            }
            if (done < start) {
                between.accept(text.substring(done, start));
            }
            tokens.accept(found.id());
            done = stop;
        }
        if (done < text.length()) {
            between.accept(text.substring(done));
        }
    }

    /** Rust regex's Unicode {@code \w}: alphabetic, marks, decimal digits, connector punctuation, joiners. */
    private static boolean isWordChar(int c) {
        if (Character.isAlphabetic(c) || c == 0x200C || c == 0x200D) {
            return true;
        }
        int type = Character.getType(c);
        return type == Character.NON_SPACING_MARK
                || type == Character.ENCLOSING_MARK
                || type == Character.COMBINING_SPACING_MARK
                || type == Character.DECIMAL_DIGIT_NUMBER
                || type == Character.CONNECTOR_PUNCTUATION;
    }

    /** Unicode's White_Space property (Rust regex's {@code \s}). */
    private static boolean isWhiteSpace(int c) {
        return c >= 0x09 && c <= 0x0D || c == 0x85 || Character.isSpaceChar(c);
    }
}
