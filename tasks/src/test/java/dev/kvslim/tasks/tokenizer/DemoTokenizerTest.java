package dev.kvslim.tasks.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.kvslim.core.tokenizer.HfTokenizerJson;
import dev.kvslim.core.tokenizer.Tokenizer;
import dev.kvslim.tasks.Sample;
import dev.kvslim.tasks.Split;
import dev.kvslim.tasks.Task;
import dev.kvslim.tasks.synthetic.TaskSuite;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class DemoTokenizerTest {

    @Test
    void everyByteIsItsOwnTokenAndTheSpecialsFollow(@TempDir Path dir) {
        DemoTokenizer.write(dir);
        Tokenizer t = HfTokenizerJson.load(dir.resolve("tokenizer.json"));
        assertThat(t.vocabSize()).isEqualTo(DemoTokenizer.VOCAB_SIZE);
        assertThat(t.bosId()).isEqualTo(256);
        assertThat(t.eosId()).isEqualTo(257);
        assertThat(t.piece(258)).isEqualTo("<|pad|>");
        String text = "a001=12:12 héllo 😀\n\t";
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = t.encode(text, false);
        assertThat(ids).hasSize(bytes.length);
        for (int i = 0; i < bytes.length; i++) {
            assertThat(ids[i]).isEqualTo(bytes[i] & 0xFF);
        }
        assertThat(t.encode("ab", true)).containsExactly(256, 'a', 'b');
        assertThat(t.decode(ids)).isEqualTo(text);
        assertThat(DemoTokenizer.tokenizer().encode(text, false)).isEqualTo(ids);
    }

    @Test
    void theConfigNamesBosEosAndPad(@TempDir Path dir) {
        DemoTokenizer.write(dir);
        JsonNode config = JsonMapper.builder()
                .build()
                .readTree(dir.resolve("tokenizer_config.json").toFile());
        assertThat(config.get("bos_token").stringValue()).isEqualTo("<|bos|>");
        assertThat(config.get("eos_token").stringValue()).isEqualTo("<|eos|>");
        assertThat(config.get("pad_token").stringValue()).isEqualTo("<|pad|>");
    }

    /** Hugging Face's own library, reading the same file, gives the same ids for task texts and others. */
    @Test
    void idsAndTextsAreHuggingFacesOnTaskTextsAndMore(@TempDir Path dir) throws IOException {
        DemoTokenizer.write(dir);
        Tokenizer ours = HfTokenizerJson.load(dir.resolve("tokenizer.json"));
        List<String> texts = new ArrayList<>();
        for (Task task : TaskSuite.all()) {
            for (int n = 0; n < 5; n++) {
                Sample s = task.generate(Split.EVAL.seed(n), 256 << n % 3);
                texts.add(s.prompt() + s.target());
                texts.add(s.target());
            }
        }
        texts.addAll(List.of(
                "",
                " ",
                "  leading",
                "tabs\tand\r\nnewlines",
                "naïve café 東京 😀",
                "<|bos|>x<|eos|>",
                "a <|pad|> b",
                "<|bos",
                "\u0000\u007f\u00a0\u00ad"));
        SplittableRandom random = new SplittableRandom(4);
        for (int i = 0; i < 50; i++) {
            texts.add(random.ints(random.nextInt(1, 40), 1, 0x3000)
                    .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append)
                    .toString());
        }
        List<String> mismatches = new ArrayList<>();
        try (HuggingFaceTokenizer theirs = HuggingFaceTokenizer.newInstance(
                dir.resolve("tokenizer.json"),
                Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"))) {
            for (String text : texts) {
                for (boolean special : new boolean[] {false, true}) {
                    long[] expected = theirs.encode(text, special, false).getIds();
                    long[] actual = Arrays.stream(ours.encode(text, special))
                            .asLongStream()
                            .toArray();
                    if (!Arrays.equals(actual, expected)) {
                        mismatches.add(text + (special ? " with" : " without") + " specials: ours "
                                + Arrays.toString(actual) + ", theirs " + Arrays.toString(expected));
                    }
                }
                long[] ids = theirs.encode(text, true, false).getIds();
                String decoded = ours.decode(
                        Arrays.stream(ids).mapToInt(Math::toIntExact).toArray());
                if (!decoded.equals(theirs.decode(ids, true))) {
                    mismatches.add(text + " decodes to " + decoded);
                }
            }
        }
        assertThat(mismatches).isEmpty();
        assertThat(texts).hasSizeGreaterThan(90);
    }
}
