package dev.kvslim.tasks.text;

import dev.kvslim.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Plain UTF-8 text files as training tokens: each file is read whole, encoded with the given tokenizer, and
 * wrapped in BOS and EOS (when the tokenizer has them), files one after another in the order given. Every file is read
 * and checked when the source is made, so a bad file fails before training starts, with its name and, for text that is
 * not UTF-8, the byte offset of the first malformed sequence.
 */
public final class TextFileSource {

    private final int[] tokens;

    /**
     * @throws TextFileException if a file is missing, unreadable or not valid UTF-8
     */
    public TextFileSource(Tokenizer tokenizer, List<Path> files) {
        List<int[]> parts = new ArrayList<>();
        int total = 0;
        for (Path file : files) {
            int[] ids = tokenizer.encode(readUtf8(file), false);
            int[] part = new int[ids.length + (tokenizer.bosId() >= 0 ? 1 : 0) + (tokenizer.eosId() >= 0 ? 1 : 0)];
            int at = 0;
            if (tokenizer.bosId() >= 0) {
                part[at++] = tokenizer.bosId();
            }
            System.arraycopy(ids, 0, part, at, ids.length);
            if (tokenizer.eosId() >= 0) {
                part[part.length - 1] = tokenizer.eosId();
            }
            parts.add(part);
            total = Math.addExact(total, part.length);
        }
        this.tokens = new int[total];
        int at = 0;
        for (int[] part : parts) {
            System.arraycopy(part, 0, tokens, at, part.length);
            at += part.length;
        }
    }

    /** All tokens, file after file. */
    public int[] tokens() {
        return tokens.clone();
    }

    /**
     * The tokens cut into consecutive sequences of {@code length} (sequences may span files: BOS and EOS mark where
     * one ends); the tail shorter than {@code length} is dropped.
     */
    public List<int[]> sequences(int length) {
        if (length <= 0) {
            throw new IllegalArgumentException("sequence length must be positive, got " + length);
        }
        List<int[]> out = new ArrayList<>(tokens.length / length);
        for (int start = 0; start + length <= tokens.length; start += length) {
            int[] sequence = new int[length];
            System.arraycopy(tokens, start, sequence, 0, length);
            out.add(sequence);
        }
        return out;
    }

    /**
     * The text of {@code file}.
     *
     * @throws TextFileException naming the file if it is missing, not a regular file, unreadable, or not UTF-8 (with
     *                           the byte offset of the first malformed or unmappable sequence)
     */
    public static String readUtf8(Path file) {
        if (!Files.exists(file)) {
            throw new TextFileException(file, "no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new TextFileException(file, "not a regular file");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new TextFileException(file, "cannot be read: " + e.getMessage(), e);
        }
        CharsetDecoder decoder = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isUnderflow()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            throw new TextFileException(
                    file,
                    "not valid UTF-8: malformed sequence of " + result.length() + " byte(s) at byte offset "
                            + in.position());
        }
        return out.flip().toString();
    }
}
