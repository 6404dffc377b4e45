package dev.kvslim.core.tokenizer;

import dev.kvslim.core.format.gguf.GgufFile;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Builds the tokenizer a GGUF file describes in its {@code tokenizer.ggml.*} metadata: {@code llama}
 * (SentencePiece BPE with scores) or {@code gpt2} (byte-level BPE with merges).
 */
public final class GgufTokenizers {

    private static final String PREFIX = "tokenizer.ggml.";
    /** How GGUF writers spell "no such token" in an unsigned 32-bit id. */
    private static final long NO_TOKEN_UINT32 = 0xFFFF_FFFFL;

    private GgufTokenizers() {}

    /**
     * The tokenizer of {@code gguf}.
     *
     * @throws dev.kvslim.core.io.ModelFormatException naming the file, if the metadata is missing, inconsistent
     *                                                     or of an unsupported tokenizer model
     */
    public static Tokenizer load(GgufFile gguf) {
        String model = gguf.requireString(PREFIX + "model");
        String[] tokens = gguf.getStrings(PREFIX + "tokens");
        if (tokens == null || tokens.length == 0) {
            throw gguf.fail("missing or empty metadata '" + PREFIX + "tokens'");
        }
        TokenType[] types = tokenTypes(gguf, tokens.length);
        try {
            return switch (model) {
                case "llama" -> sentencePiece(gguf, tokens, types);
                case "gpt2" -> byteLevel(gguf, tokens, types);
                default ->
                    throw gguf.fail("unsupported tokenizer model " + PREFIX + "model = '" + model
                            + "' (supported: llama, gpt2)");
            };
        } catch (IllegalArgumentException e) {
            throw gguf.fail("tokenizer: " + e.getMessage());
        }
    }

    private static Tokenizer sentencePiece(GgufFile gguf, String[] tokens, TokenType[] types) {
        int n = tokens.length;
        float[] scores = gguf.getFloats(PREFIX + "scores");
        if (scores == null) {
            throw gguf.fail("missing metadata '" + PREFIX + "scores'");
        }
        requireLength(gguf, "scores", scores.length, n);
        byte[][] pieces = new byte[n][];
        for (int id = 0; id < n; id++) {
            pieces[id] = tokens[id].getBytes(StandardCharsets.UTF_8);
        }
        return new SentencePieceBpeTokenizer(
                pieces,
                scores,
                types,
                tokenId(gguf, "bos_token_id", 1, n),
                tokenId(gguf, "eos_token_id", 2, n),
                gguf.getBool(PREFIX + "add_bos_token", true),
                gguf.getBool(PREFIX + "add_space_prefix", true),
                false);
    }

    private static Tokenizer byteLevel(GgufFile gguf, String[] tokens, TokenType[] types) {
        String pre = gguf.getString(PREFIX + "pre", "gpt-2");
        Pattern split = ByteLevelPreTokenizers.forGgufName(pre);
        if (split == null) {
            throw gguf.fail("unsupported pre-tokenizer " + PREFIX + "pre = '" + pre + "' (supported: "
                    + String.join(", ", new java.util.TreeSet<>(ByteLevelPreTokenizers.BY_GGUF_NAME.keySet())) + ")");
        }
        String[] mergeRules = gguf.getStrings(PREFIX + "merges");
        if (mergeRules == null) {
            throw gguf.fail("missing metadata '" + PREFIX + "merges'");
        }
        List<ByteLevelBpeTokenizer.Merge> merges = new ArrayList<>(mergeRules.length);
        for (int i = 0; i < mergeRules.length; i++) {
            String rule = mergeRules[i];
            int space = rule.indexOf(' ', 1);
            if (space < 0) {
                throw gguf.fail("merge " + i + " ('" + rule + "') is not two tokens separated by a space");
            }
            merges.add(new ByteLevelBpeTokenizer.Merge(rule.substring(0, space), rule.substring(space + 1)));
        }
        int n = tokens.length;
        int bos = tokenId(gguf, "bos_token_id", -1, n), eos = tokenId(gguf, "eos_token_id", -1, n);
        boolean addBos = gguf.getBool(PREFIX + "add_bos_token", false);
        // llama.cpp, like Hugging Face, takes a Llama 3 word that is a vocabulary token whole
        return pre.equals("llama-bpe")
                ? ByteLevelBpeTokenizer.ignoringMerges(tokens, types, merges, split, bos, eos, addBos)
                : new ByteLevelBpeTokenizer(tokens, types, merges, split, bos, eos, addBos);
    }

    private static TokenType[] tokenTypes(GgufFile gguf, int n) {
        TokenType[] types = new TokenType[n];
        int[] ids = gguf.getInts(PREFIX + "token_type");
        if (ids == null) {
            Arrays.fill(types, TokenType.NORMAL);
            return types;
        }
        requireLength(gguf, "token_type", ids.length, n);
        for (int i = 0; i < n; i++) {
            types[i] = TokenType.fromGguf(ids[i]);
            if (types[i] == null) {
                throw gguf.fail("token " + i + " has unknown type " + ids[i] + " in '" + PREFIX + "token_type'");
            }
        }
        return types;
    }

    private static void requireLength(GgufFile gguf, String key, int length, int tokenCount) {
        if (length != tokenCount) {
            throw gguf.fail("'" + PREFIX + key + "' has " + length + " entries for " + tokenCount + " tokens");
        }
    }

    /** The token id stored under {@code key}, {@code fallback} if absent, -1 if the file says there is none. */
    private static int tokenId(GgufFile gguf, String key, int fallback, int vocabSize) {
        long id = gguf.getLong(PREFIX + key, fallback);
        if (id == -1 || id == NO_TOKEN_UINT32) {
            return -1;
        }
        if (id < 0 || id >= vocabSize) {
            throw gguf.fail("'" + PREFIX + key + "' = " + id + " is outside the vocabulary of " + vocabSize);
        }
        return (int) id;
    }
}
