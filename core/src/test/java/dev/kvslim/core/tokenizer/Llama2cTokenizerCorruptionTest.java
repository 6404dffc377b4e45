package dev.kvslim.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.testing.Fixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Damaged llama2.c {@code tokenizer.bin} files: each must give a {@link ModelFormatException} naming the file. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Llama2cTokenizerCorruptionTest {

    private static final int TOK512_TOKENS = 512;

    @TempDir
    Path dir;

    @Test
    void truncationAtEveryOffsetOfTok512IsReported() throws IOException {
        byte[] original = Files.readAllBytes(Fixtures.path("stories260K/tok512.bin"));
        Set<Integer> tokenEnds = tokenEnds(original);
        for (int length = 0; length < original.length; length++) {
            Path file = write("tok512-" + length + ".bin", Arrays.copyOf(original, length));
            assertRejected(() -> Llama2cTokenizer.load(file, TOK512_TOKENS), file);
            int whole = wholeTokensBefore(original, length);
            if (tokenEnds.contains(length) && whole >= 259) {
                assertThat(Llama2cTokenizer.load(file).vocabSize()).isEqualTo(whole);
            } else {
                assertRejected(() -> Llama2cTokenizer.load(file), file);
            }
        }
    }

    @Test
    void truncationOfTheLlama2VocabularyIsReported() throws IOException {
        byte[] original = Files.readAllBytes(Fixtures.path("tokenizers/llama2/tokenizer.bin"));
        for (int id : new int[] {0, 2, 100, 258, 259, 1000, 10_000, 31_999}) {
            int entry = tokenOffset(original, id);
            for (int length : new int[] {entry + 2, entry + 6, entry + 9}) {
                Path file = write("llama2-" + length + ".bin", Arrays.copyOf(original, length));
                assertRejected(() -> Llama2cTokenizer.load(file), file);
                assertRejected(() -> Llama2cTokenizer.load(file, 32000), file);
            }
        }
    }

    @Test
    void negativeHugeOrOverlongPieceLengthsAreReported() throws IOException {
        byte[] original = Files.readAllBytes(Fixtures.path("stories260K/tok512.bin"));
        int lengthOffset = tokenOffset(original, 300) + 4;
        for (int bad : new int[] {-1, Integer.MIN_VALUE, Integer.MAX_VALUE, 1 << 20, original.length, 8}) {
            byte[] damaged = original.clone();
            ByteBuffer.wrap(damaged).order(ByteOrder.LITTLE_ENDIAN).putInt(lengthOffset, bad);
            Path file = write("length-" + bad + ".bin", damaged);
            assertRejected(() -> Llama2cTokenizer.load(file), file);
        }
    }

    @Test
    void badMaxTokenLengthIsReported() throws IOException {
        byte[] original = Files.readAllBytes(Fixtures.path("stories260K/tok512.bin"));
        for (int bad : new int[] {0, -7, 6}) {
            byte[] damaged = original.clone();
            ByteBuffer.wrap(damaged).order(ByteOrder.LITTLE_ENDIAN).putInt(0, bad);
            Path file = write("max-" + bad + ".bin", damaged);
            assertRejected(() -> Llama2cTokenizer.load(file), file);
        }
    }

    @Test
    void missingByteTokenIsReported() throws IOException {
        byte[] damaged = Files.readAllBytes(Fixtures.path("stories260K/tok512.bin"));
        int pieceOffset = tokenOffset(damaged, 3 + 0x41) + 8;
        damaged[pieceOffset + 4] = 'x';
        Path file = write("byte-token.bin", damaged);
        assertRejected(() -> Llama2cTokenizer.load(file), file);
    }

    @Test
    void missingFileIsReported() {
        Path file = dir.resolve("absent.bin");
        assertRejected(() -> Llama2cTokenizer.load(file), file);
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private static void assertRejected(org.assertj.core.api.ThrowableAssert.ThrowingCallable load, Path file) {
        assertThatThrownBy(load)
                .as("loading %s", file.getFileName())
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(file.toString());
    }

    /** Offset of token {@code id}'s entry (its score), read independently of the code under test. */
    private static int tokenOffset(byte[] file, int id) {
        ByteBuffer in = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int offset = 4;
        for (int i = 0; i < id; i++) {
            offset += 8 + in.getInt(offset + 4);
        }
        return offset;
    }

    /** Offsets at which an entry ends, so that a file cut there is whole tokens. */
    private static Set<Integer> tokenEnds(byte[] file) {
        Set<Integer> ends = new HashSet<>();
        ByteBuffer in = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        for (int offset = 4; offset < file.length; ) {
            offset += 8 + in.getInt(offset + 4);
            ends.add(offset);
        }
        return ends;
    }

    private static int wholeTokensBefore(byte[] file, int length) {
        ByteBuffer in = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int count = 0;
        for (int offset = 4; offset + 8 <= length && offset + 8 + in.getInt(offset + 4) <= length; count++) {
            offset += 8 + in.getInt(offset + 4);
        }
        return count;
    }
}
