package dev.kvslim.core.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.sample.SamplingParams;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.core.tokenizer.Llama2cTokenizer;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The one decoding rule, checked by hand: greedy sampling over logits that put all weight on a chosen token, so each
 * step's token is known and every ending can be reached exactly.
 */
class DecodingTest {

    private static final Tokenizer TOKENIZER = Llama2cTokenizer.load(Fixtures.path("stories260K/tok512.bin"));
    private static final int EOS = 2;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    private Decoding decoding(List<String> stops, int[] prompt, int maxTokens, int maxLength) {
        return new Decoding(
                new Sampler(SamplingParams.GREEDY, TOKENIZER.vocabSize()),
                TOKENIZER,
                t -> t == EOS,
                stops,
                prompt,
                maxTokens,
                maxLength,
                out::write);
    }

    private static float[] pick(int token) {
        float[] logits = new float[TOKENIZER.vocabSize()];
        logits[token] = 1;
        return logits;
    }

    private static int[] tokens(String text) {
        return TOKENIZER.encode(text, false);
    }

    private String text() {
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void endOfGenerationEndsWithoutTextAndIsNotCounted() {
        int[] words = tokens(" cat sat");
        Decoding d = decoding(List.of(), new int[] {1}, 10, 100);
        assertThat(d.next(pick(words[0]))).isNull();
        assertThat(d.position()).isEqualTo(1);
        assertThat(d.token()).isEqualTo(words[0]);
        assertThat(d.next(pick(EOS))).isEqualTo(Generator.StopReason.END_OF_GENERATION);
        assertThat(d.token()).isEqualTo(EOS);
        assertThat(d.count()).isEqualTo(1);
        assertThat(d.generated()).containsExactly(words[0]);
        assertThat(text()).isEqualTo(new String(TOKENIZER.decodePiece(1, words[0]), StandardCharsets.UTF_8));
        assertThatThrownBy(() -> d.next(pick(words[1]))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aStopStringCutsTheTextBeforeIt() {
        int[] words = tokens("Tom ran. Then");
        Decoding d = decoding(List.of("."), new int[] {1}, 50, 100);
        Generator.StopReason reason = null;
        int fed = 0;
        while (reason == null) {
            reason = d.next(pick(words[fed++]));
        }
        assertThat(reason).isEqualTo(Generator.StopReason.STOP_STRING);
        assertThat(text()).isEqualTo("Tom ran");
        assertThat(d.lastTextToken()).isEqualTo(d.token());
    }

    @Test
    void limitsCountGeneratedTokensAndTheWholeLength() {
        int[] words = tokens(" a b c d e f");
        Decoding byTokens = decoding(List.of(), new int[] {1, words[0]}, 3, 100);
        assertThat(byTokens.next(pick(words[1]))).isNull();
        assertThat(byTokens.next(pick(words[2]))).isNull();
        assertThat(byTokens.next(pick(words[3]))).isEqualTo(Generator.StopReason.LENGTH);
        assertThat(byTokens.count()).isEqualTo(3);
        // prompt 2 + generated may reach 4: the second token ends it
        Decoding byLength = decoding(List.of(), new int[] {1, words[0]}, 100, 4);
        assertThat(byLength.next(pick(words[1]))).isNull();
        assertThat(byLength.next(pick(words[2]))).isEqualTo(Generator.StopReason.LENGTH);
        assertThat(byLength.position()).isEqualTo(3);
        // nothing to generate: over before it starts
        assertThat(decoding(List.of(), new int[] {1}, 0, 100).stopReason()).isEqualTo(Generator.StopReason.LENGTH);
        assertThat(decoding(List.of(), new int[] {1, 5}, 10, 2).stopReason()).isEqualTo(Generator.StopReason.LENGTH);
        assertThatThrownBy(() -> decoding(List.of(), new int[0], 1, 10)).hasMessageContaining("at least one token");
    }

    @Test
    void heldBackTextIsWrittenWhenALimitEndsIt() {
        int[] words = tokens("Tom ran");
        Decoding d = decoding(List.of("ran away"), new int[] {1}, words.length, 100);
        Generator.StopReason reason = null;
        for (int i = 0; reason == null; i++) {
            reason = d.next(pick(words[i]));
        }
        assertThat(reason).isEqualTo(Generator.StopReason.LENGTH);
        assertThat(text()).isEqualTo("Tom ran");
    }
}
