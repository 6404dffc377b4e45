package dev.kvslim.train.data;

import dev.kvslim.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A text file tokenised once (with the tokenizer's BOS), served as a {@link TokenStreamSource}. */
public final class TextFileSource {

    private TextFileSource() {
    }

    public static TokenStreamSource open(Path file, Tokenizer tokenizer, long seed) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("training text file not found: " + file);
        }
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read training text " + file + ": " + e.getMessage(), e);
        }
        int[] ids = tokenizer.encode(text, true);
        if (ids.length < 2) {
            throw new IllegalArgumentException("training text " + file + " gives only " + ids.length + " tokens");
        }
        return new TokenStreamSource(ids, seed);
    }
}
