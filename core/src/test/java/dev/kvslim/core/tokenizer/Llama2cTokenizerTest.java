package dev.kvslim.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.testing.Fixtures;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** llama2.c {@code tokenizer.bin} vocabularies against {@code run.c}'s own encodings. */
class Llama2cTokenizerTest {

    private static final String TOK512 = "stories260K/tok512.bin";
    private static final String LLAMA2 = "tokenizers/llama2/tokenizer.bin";

    static Stream<Arguments> tok512Cases() {
        return TokenizerGoldens.jsonCases("stories260K/golden/tok512_encode.json").stream()
                .map(c -> Arguments.of(Named.of(c.label(), c)));
    }

    static Stream<Arguments> llama2Cases() {
        return TokenizerGoldens.jsonCases("tokenizers/llama2/runc_encode.json").stream()
                .map(c -> Arguments.of(Named.of(c.label(), c)));
    }

    @ParameterizedTest
    @MethodSource("tok512Cases")
    void tok512EncodesAsRunC(TokenizerGoldens.Case c) {
        Tokenizer tokenizer = Llama2cTokenizer.load(Fixtures.path(TOK512));
        assertThat(tokenizer.encode(c.text(), true)).containsExactly(c.ids());
        assertThat(tokenizer.decode(tokenizer.encode(c.text(), false))).isEqualTo(c.text());
        assertThat(tokenizer.decode(c.ids())).isEqualTo(c.text());
    }

    @ParameterizedTest
    @MethodSource("llama2Cases")
    void llama2EncodesAsRunC(TokenizerGoldens.Case c) {
        Tokenizer tokenizer = Llama2Vocabulary.TOKENIZER;
        assertThat(tokenizer.encode(c.text(), true)).containsExactly(c.ids());
        assertThat(tokenizer.decode(tokenizer.encode(c.text(), false))).isEqualTo(c.text());
    }

    /** Loaded once: 32000 tokens. */
    private static final class Llama2Vocabulary {
        static final Tokenizer TOKENIZER = Llama2cTokenizer.load(Fixtures.path(LLAMA2));
    }

    @Test
    void generationEndsAtBosOrEosAsInRunC() {
        Tokenizer tokenizer = Llama2cTokenizer.load(Fixtures.path(TOK512));
        assertThat(tokenizer.isEndOfGeneration(1)).isTrue();
        assertThat(tokenizer.isEndOfGeneration(2)).isTrue();
        assertThat(tokenizer.isEndOfGeneration(3)).isFalse();
        Tokenizer gguf = GgufTokenizers.load(
                dev.kvslim.core.format.gguf.GgufFile.read(Fixtures.path("stories260K/derived/stories260K.gguf")));
        assertThat(gguf.isEndOfGeneration(2)).isTrue();
        assertThat(gguf.isEndOfGeneration(1)).as("llama.cpp ends on EOS only").isFalse();
    }

    @Test
    void describesTok512() {
        Tokenizer tokenizer = Llama2cTokenizer.load(Fixtures.path(TOK512));
        assertThat(tokenizer.vocabSize()).isEqualTo(512);
        assertThat(tokenizer.bosId()).isEqualTo(1);
        assertThat(tokenizer.eosId()).isEqualTo(2);
        assertThat(tokenizer.piece(1)).isEqualTo("\n<s>\n");
        assertThat(tokenizer.piece(410)).isEqualTo(" ");
        assertThat(tokenizer.piece(3 + 'A')).isEqualTo("<0x41>");
        assertThat(tokenizer.isEndOfGeneration(2)).isTrue();
        assertThat(tokenizer.encode("", false)).isEmpty();
    }

    @Test
    void decodesPiecesAsRunC() {
        Tokenizer tokenizer = Llama2cTokenizer.load(Fixtures.path(TOK512));
        int[] ids = tokenizer.encode("Once upon a time", true);
        assertThat(text(tokenizer.decodePiece(ids[0], ids[1]))).isEqualTo("Once");
        assertThat(text(tokenizer.decodePiece(ids[1], ids[2]))).isEqualTo(" upon");
        assertThat(tokenizer.decodePiece(ids[1], 3 + 0xE6)).containsExactly(0xE6);
        assertThat(tokenizer.decodePiece(1, 3 + ' ')).containsExactly(' ');
        assertThat(tokenizer.decodePiece(-1, 0)).isEmpty();
        assertThat(tokenizer.decodePiece(-1, 1)).isEmpty();
        assertThat(tokenizer.decodePiece(-1, 2)).isEmpty();
        StringBuilder streamed = new StringBuilder();
        for (int i = 1; i < ids.length; i++) {
            streamed.append(text(tokenizer.decodePiece(ids[i - 1], ids[i])));
        }
        assertThat(streamed).hasToString("Once upon a time");
    }

    @Test
    void readsAsManyTokensAsTheCheckpointSays() {
        assertThat(Llama2cTokenizer.load(Fixtures.path(TOK512), 512).vocabSize())
                .isEqualTo(512);
        assertThat(Llama2cTokenizer.load(Fixtures.path(TOK512), 300).vocabSize())
                .isEqualTo(300);
        assertThatThrownBy(() -> Llama2cTokenizer.load(Fixtures.path(TOK512), 513))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(Fixtures.path(TOK512).toString())
                .hasMessageContaining("truncated");
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
