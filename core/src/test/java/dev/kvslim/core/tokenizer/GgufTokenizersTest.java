package dev.kvslim.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Tokenizers built from GGUF metadata, against llama.cpp's vocabulary tests (made with Hugging Face tokenizers). */
class GgufTokenizersTest {

    private static final String LLAMA_SPM = "gguf/ggml-vocab-llama-spm/ggml-vocab-llama-spm.gguf";
    private static final String GPT2 = "gguf/ggml-vocab-gpt-2/ggml-vocab-gpt-2.gguf";
    private static final String STORIES = "stories260K/derived/stories260K.gguf";
    private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

    private static Tokenizer tokenizer(String fixture) {
        return LOADED.computeIfAbsent(fixture, f -> GgufTokenizers.load(GgufFile.read(Fixtures.path(f))));
    }

    static Stream<Arguments> llamaSpmCases() {
        return TokenizerGoldens.vocabCases(LLAMA_SPM).stream().map(c -> Arguments.of(Named.of(c.label(), c)));
    }

    static Stream<Arguments> gpt2Cases() {
        return TokenizerGoldens.vocabCases(GPT2).stream().map(c -> Arguments.of(Named.of(c.label(), c)));
    }

    static Stream<Arguments> tok512Cases() {
        return TokenizerGoldens.jsonCases("stories260K/golden/tok512_encode.json").stream()
                .map(c -> Arguments.of(Named.of(c.label(), c)));
    }

    @ParameterizedTest
    @MethodSource("llamaSpmCases")
    void llamaSpmMatchesHuggingFace(TokenizerGoldens.Case c) {
        Tokenizer tokenizer = tokenizer(LLAMA_SPM);
        assertThat(tokenizer).isInstanceOf(SentencePieceBpeTokenizer.class);
        assertThat(tokenizer.encode(c.text(), false)).containsExactly(c.ids());
        assertThat(tokenizer.decode(c.ids())).isEqualTo(c.text());
    }

    @ParameterizedTest
    @MethodSource("gpt2Cases")
    void gpt2MatchesHuggingFace(TokenizerGoldens.Case c) {
        Tokenizer tokenizer = tokenizer(GPT2);
        assertThat(tokenizer).isInstanceOf(ByteLevelBpeTokenizer.class);
        assertThat(tokenizer.encode(c.text(), false)).containsExactly(c.ids());
        assertThat(tokenizer.encode(c.text(), true)).containsExactly(c.ids());
        assertThat(tokenizer.decode(c.ids())).isEqualTo(c.text());
    }

    @ParameterizedTest
    @MethodSource("tok512Cases")
    void storiesGgufEncodesAsTok512(TokenizerGoldens.Case c) {
        Tokenizer tokenizer = tokenizer(STORIES);
        assertThat(tokenizer.encode(c.text(), true)).containsExactly(c.ids());
        assertThat(tokenizer.decode(tokenizer.encode(c.text(), false))).isEqualTo(c.text());
    }

    @Test
    void llamaSpmAddsBosAndStripsTheSpaceAfterIt() {
        Tokenizer tokenizer = tokenizer(LLAMA_SPM);
        int[] ids = tokenizer.encode("Hello world", true);
        assertThat(ids).containsExactly(1, 15043, 3186);
        assertThat(tokenizer.piece(15043)).isEqualTo("\u2581Hello");
        assertThat(new String(tokenizer.decodePiece(1, 15043), StandardCharsets.UTF_8))
                .isEqualTo("Hello");
        assertThat(new String(tokenizer.decodePiece(15043, 3186), StandardCharsets.UTF_8))
                .isEqualTo(" world");
        assertThat(tokenizer.decodePiece(3186, 3 + 0x0A)).containsExactly('\n');
        assertThat(tokenizer.decodePiece(3186, 2)).isEmpty();
        assertThat(tokenizer.decode(ids)).isEqualTo("Hello world");
        assertThat(tokenizer.isEndOfGeneration(2)).isTrue();
    }

    @Test
    void gpt2MatchesSpecialTokensInTheText() {
        Tokenizer tokenizer = tokenizer(GPT2);
        assertThat(tokenizer.bosId()).isEqualTo(50256);
        assertThat(tokenizer.encode("Hello<|endoftext|> world", false)).containsExactly(15496, 50256, 995);
        assertThat(tokenizer.decode(new int[] {15496, 50256, 995})).isEqualTo("Hello world");
        assertThat(tokenizer.piece(995)).isEqualTo("\u0120world");
        assertThat(new String(tokenizer.decodePiece(15496, 995), StandardCharsets.UTF_8))
                .isEqualTo(" world");
    }

    @Test
    void unsupportedModelIsReported(@TempDir Path dir) throws IOException {
        Path file = Files.write(dir.resolve("bert.gguf"), vocabularyOnlyGguf("bert"));
        assertThatThrownBy(() -> GgufTokenizers.load(GgufFile.read(file)))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("'bert'")
                .hasMessageContaining("llama, gpt2");
    }

    @Test
    void vocabularyWithoutScoresIsReported(@TempDir Path dir) throws IOException {
        Path file = Files.write(dir.resolve("llama.gguf"), vocabularyOnlyGguf("llama"));
        assertThatThrownBy(() -> GgufTokenizers.load(GgufFile.read(file)))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("tokenizer.ggml.scores");
    }

    /** A GGUF v3 file without tensors whose metadata is a tokenizer model name and a two-token vocabulary. */
    private static byte[] vocabularyOnlyGguf(String model) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer header = ByteBuffer.allocate(24)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putInt(GgufFile.MAGIC)
                .putInt(3)
                .putLong(0)
                .putLong(2);
        out.writeBytes(header.array());
        writeString(out, "tokenizer.ggml.model");
        writeInt(out, 8);
        writeString(out, model);
        writeString(out, "tokenizer.ggml.tokens");
        writeInt(out, 9);
        writeInt(out, 8);
        out.writeBytes(
                ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(2).array());
        writeString(out, "a");
        writeString(out, "b");
        return out.toByteArray();
    }

    private static void writeInt(ByteArrayOutputStream out, int value) {
        out.writeBytes(ByteBuffer.allocate(4)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putInt(value)
                .array());
    }

    private static void writeString(ByteArrayOutputStream out, String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        out.writeBytes(ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(utf8.length)
                .array());
        out.writeBytes(utf8);
    }
}
