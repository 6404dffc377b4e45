package dev.kvslim.core.tokenizer;

import java.util.Map;
import java.util.regex.Pattern;

/**
 * The split regexes of the byte-level BPE vocabularies KVSlim knows, by the name GGUF gives them in
 * {@code tokenizer.ggml.pre}: GPT-2's (which Hugging Face's ByteLevel pre-tokenizer applies itself), Llama 3's
 * ({@code llama-bpe}, digits in runs of up to three) and Qwen2's ({@code qwen2}, one digit at a time).
 */
public final class ByteLevelPreTokenizers {

    public static final String GPT2 =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    public static final String LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    public static final String QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** GGUF pre-tokenizer name to split regex. */
    public static final Map<String, String> BY_GGUF_NAME = Map.of("gpt-2", GPT2, "llama-bpe", LLAMA3, "qwen2", QWEN2);

    private ByteLevelPreTokenizers() {}

    /** The GGUF name of a split regex, or null if GGUF has none for it. */
    public static String ggufName(String regex) {
        for (Map.Entry<String, String> e : BY_GGUF_NAME.entrySet()) {
            if (e.getValue().equals(regex)) {
                return e.getKey();
            }
        }
        return null;
    }

    /** The compiled pattern for a GGUF pre-tokenizer name, or null if unknown. */
    static Pattern forGgufName(String name) {
        String regex = BY_GGUF_NAME.get(name);
        return regex == null ? null : OnigurumaRegex.compile(regex);
    }
}
