package dev.kvslim.core.tokenizer;

import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Cuts text into what a BPE model encodes, in the order of Hugging Face {@code tokenizers}: added tokens are taken
 * out of the text as given; each stretch between them is normalized and searched for the added tokens that match
 * normalized text; each stretch left is cut into words by the pre-tokenizer steps, one after the other.
 */
final class TextSegmenter {

    /** Receives the segments of a text in order. */
    interface Sink {

        /** An added token, by id. */
        void token(int id);

        /** A non-empty word for the BPE model. */
        void word(String word);
    }

    private final AddedTokenMatcher asGiven;
    private final AddedTokenMatcher afterNormalizing;
    private final UnaryOperator<String> normalizer;
    private final List<PreTokenizerStep> steps;

    /**
     * A segmenter finding {@code addedTokens} (each as its {@link AddedToken#normalized()} flag says), normalizing
     * with {@code normalizer} and splitting words with {@code steps}.
     */
    TextSegmenter(List<AddedToken> addedTokens, UnaryOperator<String> normalizer, List<PreTokenizerStep> steps) {
        this.asGiven = new AddedTokenMatcher(
                addedTokens.stream().filter(t -> !t.normalized()).toList(), AddedToken::content);
        this.afterNormalizing = new AddedTokenMatcher(
                addedTokens.stream().filter(AddedToken::normalized).toList(), t -> normalizer.apply(t.content()));
        this.normalizer = normalizer;
        this.steps = List.copyOf(steps);
    }

    /** Passes the segments of {@code text} to {@code out}. */
    void segment(String text, Sink out) {
        asGiven.split(
                text,
                stretch -> afterNormalizing.split(
                        normalizer.apply(stretch), rest -> preTokenize(rest, 0, out), out::token),
                out::token);
    }

    private void preTokenize(String piece, int step, Sink out) {
        if (piece.isEmpty()) {
            return;
        }
        if (step == steps.size()) {
            out.word(piece);
        } else {
            steps.get(step).split(piece, p -> preTokenize(p, step + 1, out));
        }
    }
}
