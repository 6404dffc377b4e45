package dev.kvslim.core.tokenizer;

/**
 * Text to token ids and back. Implementations are immutable and safe to share between threads.
 */
public interface Tokenizer {

    /** Number of token ids. */
    int vocabSize();

    /**
     * Token ids of {@code text}. With {@code addSpecial}, the special tokens the model expects around a text
     * are added (BOS for Llama 2 style vocabularies when the vocabulary asks for it), as Hugging Face's
     * {@code add_special_tokens=True} does.
     */
    int[] encode(String text, boolean addSpecial);

    /**
     * The bytes to print for {@code token} when it follows {@code previous} while streaming: a byte-fallback
     * token gives its raw byte, a control token (BOS, EOS) gives nothing, and, as llama2.c does, the leading
     * space of the first piece after BOS is dropped. Pieces may split a UTF-8 character between tokens.
     */
    byte[] decodePiece(int previous, int token);

    /** Text of a whole id sequence, control tokens omitted (the inverse of {@code encode(text, false)}). */
    String decode(int[] ids);

    /** The vocabulary string of {@code id}, as stored. */
    String piece(int id);

    /** Begin-of-sequence id, or -1 if the vocabulary has none. */
    int bosId();

    /** End-of-sequence id, or -1 if the vocabulary has none. */
    int eosId();

    /** Whether generating {@code id} ends the text (EOS, end-of-turn). */
    default boolean isEndOfGeneration(int id) {
        return id == eosId();
    }
}
