package dev.kvslim.core.tokenizer;

import dev.kvslim.core.io.ByteReader;
import dev.kvslim.core.io.MappedFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads llama2.c's {@code tokenizer.bin}: an int32 {@code max_token_length}, then for each token id in turn a
 * float32 score, an int32 byte length and the piece's bytes, all little-endian. Ids 0, 1, 2 are unknown, BOS
 * and EOS, and ids 3..258 the byte-fallback tokens {@code <0x00>..<0xFF>} ({@code run.c} relies on both). As in
 * {@code run.c}, every encoding starts with BOS and spaces are stored as plain spaces.
 */
public final class Llama2cTokenizer {

    private static final int UNKNOWN_ID = 0;
    private static final int BOS_ID = 1;
    private static final int EOS_ID = 2;
    private static final int FIRST_BYTE_ID = 3;

    private Llama2cTokenizer() {}

    /** The tokenizer of every token in {@code tokenizerBin}, read to the end of the file. */
    public static SentencePieceBpeTokenizer load(Path tokenizerBin) {
        return read(tokenizerBin, -1);
    }

    /**
     * The tokenizer of the first {@code vocabSize} tokens of {@code tokenizerBin}, as {@code run.c} reads it with
     * the vocabulary size of its checkpoint; a file with fewer tokens is truncated.
     */
    public static SentencePieceBpeTokenizer load(Path tokenizerBin, int vocabSize) {
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("vocabulary size " + vocabSize);
        }
        return read(tokenizerBin, vocabSize);
    }

    private static SentencePieceBpeTokenizer read(Path file, int vocabSize) {
        ByteReader in = new ByteReader(file, MappedFile.map(file));
        int maxTokenLength = in.i32("max_token_length");
        if (maxTokenLength <= 0) {
            throw in.fail("max_token_length is " + maxTokenLength + ", must be positive");
        }
        List<byte[]> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        while (vocabSize < 0 ? in.remaining() > 0 : pieces.size() < vocabSize) {
            int id = pieces.size();
            scores.add(in.f32("score of token " + id));
            long offset = in.position();
            int length = in.i32("length of token " + id);
            if (length < 0 || length > maxTokenLength) {
                throw in.fail("token " + id + " claims " + length + " bytes at offset " + offset + ", outside 0.."
                        + maxTokenLength + " (max_token_length)");
            }
            pieces.add(in.bytes(length, "bytes of token " + id));
        }
        int n = pieces.size();
        if (n < FIRST_BYTE_ID + 256) {
            throw in.fail("holds " + n + " tokens; a llama2.c tokenizer has at least " + (FIRST_BYTE_ID + 256)
                    + " (unknown, BOS, EOS, 256 byte tokens): truncated or not a tokenizer.bin");
        }
        TokenType[] types = new TokenType[n];
        float[] scoreArray = new float[n];
        for (int id = 0; id < n; id++) {
            scoreArray[id] = scores.get(id);
            types[id] = TokenType.NORMAL;
        }
        types[UNKNOWN_ID] = TokenType.UNKNOWN;
        types[BOS_ID] = TokenType.CONTROL;
        types[EOS_ID] = TokenType.CONTROL;
        for (int b = 0; b < 256; b++) {
            int id = FIRST_BYTE_ID + b;
            String expected = String.format("<0x%02X>", b);
            if (!expected.equals(new String(pieces.get(id), StandardCharsets.ISO_8859_1))) {
                throw in.fail("token " + id + " should be the byte token " + expected + ", is '"
                        + new String(pieces.get(id), StandardCharsets.UTF_8) + "'");
            }
            types[id] = TokenType.BYTE;
        }
        return new SentencePieceBpeTokenizer(
                pieces.toArray(byte[][]::new), scoreArray, types, BOS_ID, EOS_ID, true, true, true);
    }
}
