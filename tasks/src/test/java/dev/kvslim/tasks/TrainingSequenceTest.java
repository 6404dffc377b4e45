package dev.kvslim.tasks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.tokenizer.Tokenizer;
import dev.kvslim.tasks.synthetic.TaskSuite;
import dev.kvslim.tasks.tokenizer.DemoTokenizer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class TrainingSequenceTest {

    @Test
    void aSampleIsBosPromptBytesTargetBytesEosWithTheTargetMarked() {
        Tokenizer tokenizer = DemoTokenizer.tokenizer();
        for (Task task : TaskSuite.all()) {
            for (int context : new int[] {256, 1024, 4096}) {
                Sample s = task.generate(11, context);
                TrainingSequence seq = TrainingSequence.of(s, tokenizer);
                assertThat(seq.length()).isEqualTo(context);
                int[] tokens = seq.tokens();
                assertThat(tokens[0]).isEqualTo(DemoTokenizer.BOS_ID);
                assertThat(tokens[context - 1]).isEqualTo(DemoTokenizer.EOS_ID);
                byte[] text = (s.prompt() + s.target()).getBytes(StandardCharsets.US_ASCII);
                for (int i = 0; i < text.length; i++) {
                    assertThat(tokens[1 + i]).isEqualTo(text[i]);
                }
                assertThat(seq.targetStart()).isEqualTo(1 + s.prompt().length());
                for (int i = 0; i < context; i++) {
                    assertThat(seq.target()[i]).isEqualTo(i >= seq.targetStart());
                }
                int[] targetTokens = Arrays.copyOfRange(tokens, seq.targetStart(), context);
                assertThat(tokenizer.decode(targetTokens)).isEqualTo(s.target());
            }
        }
    }

    @Test
    void aTokenizerWithoutBosOrEosIsRefused() {
        Tokenizer noBos = new Tokenizer() {
            @Override
            public int vocabSize() {
                return 256;
            }

            @Override
            public int[] encode(String text, boolean addSpecial) {
                return new int[0];
            }

            @Override
            public byte[] decodePiece(int previous, int token) {
                return new byte[0];
            }

            @Override
            public String decode(int[] ids) {
                return "";
            }

            @Override
            public String piece(int id) {
                return "";
            }

            @Override
            public int bosId() {
                return -1;
            }

            @Override
            public int eosId() {
                return 2;
            }
        };
        Sample s = TaskSuite.named("needle").generate(1, 256);
        assertThatThrownBy(() -> TrainingSequence.of(s, noBos))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has BOS -1, EOS 2");
    }
}
