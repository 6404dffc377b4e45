package dev.kvslim.core.tokenizer;

/**
 * A token that is found whole in the text before any other splitting, with the options of Hugging Face's
 * {@code AddedToken}: {@code singleWord} (only where no word character touches it on either side), {@code lstrip}
 * and {@code rstrip} (it takes the whitespace to its left or right with it), {@code normalized} (it is looked for
 * in the normalized text rather than in the text as given) and {@code special} (decoding leaves it out).
 */
record AddedToken(
        int id,
        String content,
        boolean special,
        boolean singleWord,
        boolean lstrip,
        boolean rstrip,
        boolean normalized) {

    AddedToken {
        if (content.isEmpty()) {
            throw new IllegalArgumentException("added token " + id + " is empty");
        }
    }

    /** A token matched exactly as written, in the text as given: the special tokens of a GGUF vocabulary. */
    static AddedToken plain(int id, String content, boolean special) {
        return new AddedToken(id, content, special, false, false, false, false);
    }
}
