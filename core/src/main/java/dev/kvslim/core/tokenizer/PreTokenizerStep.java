package dev.kvslim.core.tokenizer;

import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One step of a Hugging Face pre-tokenizer: cuts a piece of text into smaller pieces, in order. */
sealed interface PreTokenizerStep {

    /** Passes the pieces of {@code piece} to {@code out}; empty pieces may be passed and are to be dropped. */
    void split(String piece, Consumer<String> out);

    /**
     * {@code Split} with behaviour {@code Isolated}: every match of {@code pattern} is a piece, and so is every
     * stretch between matches (an empty match cuts the stretch it falls in). Matches are searched for as Oniguruma's
     * {@code find_iter} does: an empty match right where the previous match ended is passed over by moving on one
     * character, a whole code point (Java's {@code find()} would accept it, then move on one UTF-16 unit, into the
     * middle of a surrogate pair).
     */
    record Split(Pattern pattern) implements PreTokenizerStep {

        @Override
        public void split(String piece, Consumer<String> out) {
            Matcher match = pattern.matcher(piece);
            int done = 0;
            int from = 0;
            int previousEnd = -1;
            while (from <= piece.length() && match.find(from)) {
                int start = match.start();
                int end = match.end();
                if (start == end && end == previousEnd) {
                    from = start < piece.length() ? start + Character.charCount(piece.codePointAt(start)) : start + 1;
                    continue;
                }
                if (start > done) {
                    out.accept(piece.substring(done, start));
                }
                out.accept(piece.substring(start, end));
                done = end;
                previousEnd = end;
                from = end;
            }
            if (done < piece.length()) {
                out.accept(piece.substring(done));
            }
        }
    }

    /**
     * {@code ByteLevel}: with {@code addPrefixSpace}, a space is put before every piece that does not start with
     * one; with {@code useRegex}, the piece is then split by GPT-2's regex. (Mapping bytes to printable characters,
     * the rest of this step, is left to {@link ByteLevelBpeTokenizer}.)
     */
    record ByteLevel(boolean addPrefixSpace, boolean useRegex) implements PreTokenizerStep {

        private static final Split GPT2 = new Split(ByteLevelBpeTokenizer.GPT2_PRE_TOKENIZER);

        @Override
        public void split(String piece, Consumer<String> out) {
            String prefixed = addPrefixSpace && !piece.startsWith(" ") ? " " + piece : piece;
            if (useRegex) {
                GPT2.split(prefixed, out);
            } else {
                out.accept(prefixed);
            }
        }
    }
}
