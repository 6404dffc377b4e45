package dev.kvslim.core.tokenizer;

/** Checks on the special-token ids a vocabulary names. */
final class VocabularyIds {

    private VocabularyIds() {}

    /** Fails unless {@code id} is -1 (none) or an id of a vocabulary of {@code vocabSize} tokens. */
    static void check(int id, int vocabSize, String what) {
        if (id < -1 || id >= vocabSize) {
            throw new IllegalArgumentException(what + " id " + id + " is outside the vocabulary of " + vocabSize);
        }
    }
}
