package dev.kvslim.core.tokenizer;

/** What a vocabulary entry is, with the numbering of GGUF's {@code tokenizer.ggml.token_type}. */
public enum TokenType {
    /** An ordinary piece of text. */
    NORMAL(1),
    /** The token for text the vocabulary cannot represent; decodes to nothing. */
    UNKNOWN(2),
    /** A marker such as BOS or EOS: never produced from ordinary text, decodes to nothing. */
    CONTROL(3),
    /** A piece added to the vocabulary by hand; matched whole in the text before any splitting. */
    USER_DEFINED(4),
    /** A reserved slot. */
    UNUSED(5),
    /** A byte-fallback token {@code <0xXX>} that stands for one raw byte. */
    BYTE(6);

    /** The number GGUF stores for this type. */
    public final int ggufId;

    TokenType(int ggufId) {
        this.ggufId = ggufId;
    }

    /** The type GGUF numbers {@code id}, or null if there is none. */
    public static TokenType fromGguf(int id) {
        for (TokenType t : values()) {
            if (t.ggufId == id) {
                return t;
            }
        }
        return null;
    }
}
