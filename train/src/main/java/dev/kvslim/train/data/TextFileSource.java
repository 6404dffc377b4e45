package dev.kvslim.train.data;

import dev.kvslim.core.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;

/**
 * A text file served as a {@link TokenStreamSource}: read and tokenised once by the task suite's
 * {@link dev.kvslim.tasks.text.TextFileSource} (BOS and EOS around the file; a missing or non-UTF-8 file is an error
 * naming it and, for bad UTF-8, the byte offset), then cut into rows at seeded random offsets.
 */
public final class TextFileSource {

    private TextFileSource() {}

    public static TokenStreamSource open(Path file, Tokenizer tokenizer, long seed) {
        int[] ids = new dev.kvslim.tasks.text.TextFileSource(tokenizer, List.of(file)).tokens();
        if (ids.length < 2) {
            throw new IllegalArgumentException("training text " + file + " gives only " + ids.length + " tokens");
        }
        return new TokenStreamSource(ids, seed);
    }
}
