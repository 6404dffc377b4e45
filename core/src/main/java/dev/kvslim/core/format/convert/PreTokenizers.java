package dev.kvslim.core.format.convert;

import java.util.Map;

/**
 * The byte-level BPE pre-tokenizers that GGUF names in {@code tokenizer.ggml.pre}, with the split regex the
 * Hugging Face {@code tokenizer.json} of those models carries ({@code null}: GPT-2's own, applied by ByteLevel).
 */
final class PreTokenizers {

    static final String LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** GGUF pre-tokenizer name to split regex. */
    static final Map<String, String> BY_GGUF_NAME = Map.of("llama-bpe", LLAMA3, "qwen2", QWEN2);

    private PreTokenizers() {
    }

    /** The GGUF name of a split regex, or null if GGUF has none for it. */
    static String ggufName(String regex) {
        for (Map.Entry<String, String> e : BY_GGUF_NAME.entrySet()) {
            if (e.getValue().equals(regex)) {
                return e.getKey();
            }
        }
        return null;
    }
}
