package dev.kvslim.tasks.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.tokenizer.Tokenizer;
import dev.kvslim.tasks.tokenizer.DemoTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextFileSourceTest {

    private final Tokenizer tokenizer = DemoTokenizer.tokenizer();

    @Test
    void filesBecomeBosTextEosOneAfterAnother(@TempDir Path dir) throws IOException {
        Path a = Files.writeString(dir.resolve("a.txt"), "hi");
        Path b = Files.writeString(dir.resolve("b.txt"), "é!");
        TextFileSource source = new TextFileSource(tokenizer, List.of(a, b));
        assertThat(source.tokens()).containsExactly(256, 'h', 'i', 257, 256, 0xC3, 0xA9, '!', 257);
        assertThat(source.sequences(4))
                .containsExactly(new int[] {256, 'h', 'i', 257}, new int[] {256, 0xC3, 0xA9, '!'});
        assertThatThrownBy(() -> source.sequences(0)).hasMessageContaining("must be positive");
    }

    @Test
    void aMissingFileOrAFolderIsNamed(@TempDir Path dir) {
        Path missing = dir.resolve("missing.txt");
        assertThatThrownBy(() -> new TextFileSource(tokenizer, List.of(missing)))
                .isInstanceOf(TextFileException.class)
                .hasMessage(missing + ": no such file");
        assertThatThrownBy(() -> new TextFileSource(tokenizer, List.of(dir))).hasMessage(dir + ": not a regular file");
    }

    @Test
    void textThatIsNotUtf8IsRefusedAtTheOffsetOfItsFirstBadSequence(@TempDir Path dir) throws IOException {
        byte[] good = "ok é ".getBytes(StandardCharsets.UTF_8); // 6 bytes
        assertThat(good).hasSize(6);
        expectMalformedAt(dir, concat(good, new byte[] {(byte) 0xFF, 'x'}), 6);
        expectMalformedAt(dir, concat(good, new byte[] {(byte) 0xC3, 'x'}), 6); // lead byte, no continuation
        expectMalformedAt(dir, concat(good, new byte[] {(byte) 0xE2, (byte) 0x82}), 6); // cut off at the end
        expectMalformedAt(dir, concat(good, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}), 6); // a surrogate
        expectMalformedAt(dir, new byte[] {(byte) 0x80}, 0);
    }

    private static void expectMalformedAt(Path dir, byte[] bytes, int offset) throws IOException {
        Path file = Files.write(dir.resolve("bad.txt"), bytes);
        assertThatThrownBy(() -> TextFileSource.readUtf8(file))
                .isInstanceOf(TextFileException.class)
                .hasMessageStartingWith(file + ": not valid UTF-8: malformed sequence")
                .hasMessageEndingWith("at byte offset " + offset);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] both = new byte[a.length + b.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }
}
