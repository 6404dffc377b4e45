package dev.kvslim.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.BooleanNode;
import tools.jackson.databind.node.DoubleNode;
import tools.jackson.databind.node.IntNode;
import tools.jackson.databind.node.LongNode;
import tools.jackson.databind.node.NullNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.databind.node.StringNode;

/** Hugging Face {@code tokenizer.json} files: llama.cpp's vectors for Qwen and Llama 3, special tokens, and faults. */
class HfTokenizerJsonTest {

    private static final String QWEN3 = "tokenizers/qwen3/";
    private static final String LLAMA3 = "tokenizers/llama3/";
    private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

    private static Tokenizer tokenizer(String dir) {
        return LOADED.computeIfAbsent(dir, d -> HfTokenizerJson.load(Fixtures.path(d + "tokenizer.json")));
    }

    static Stream<Arguments> qwen3Cases() {
        return TokenizerGoldens.vocabCases(QWEN3 + "llamacpp-ggml-vocab-qwen2.gguf").stream()
                .map(c -> Arguments.of(Named.of(c.label(), c)));
    }

    static Stream<Arguments> llama3Cases() {
        return TokenizerGoldens.vocabCases(LLAMA3 + "llamacpp-ggml-vocab-llama-bpe.gguf").stream()
                .map(c -> Arguments.of(Named.of(c.label(), c)));
    }

    @ParameterizedTest
    @MethodSource("qwen3Cases")
    void qwen3MatchesLlamaCppVectors(TokenizerGoldens.Case c) {
        Tokenizer qwen = tokenizer(QWEN3);
        assertThat(qwen.encode(c.text(), false)).containsExactly(c.ids());
        assertThat(qwen.encode(c.text(), true)).containsExactly(c.ids());
        assertThat(qwen.decode(c.ids())).isEqualTo(Normalizer.normalize(c.text(), Normalizer.Form.NFC));
    }

    @ParameterizedTest
    @MethodSource("llama3Cases")
    void llama3MatchesLlamaCppVectors(TokenizerGoldens.Case c) {
        Tokenizer llama = tokenizer(LLAMA3);
        assertThat(llama.encode(c.text(), false)).containsExactly(c.ids());
        assertThat(llama.encode(c.text(), true)).containsExactly(c.ids());
        assertThat(llama.decode(c.ids())).isEqualTo(c.text());
    }

    @Test
    void qwen3SpecialTokensAreSingleIds() {
        Tokenizer qwen = tokenizer(QWEN3);
        int[] ids = qwen.encode(
                "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello" + "<|endoftext|>",
                false);
        assertThat(ids).startsWith(151644).contains(151645, 151667, 151668).endsWith(151643);
        assertThat(Arrays.stream(ids).filter(id -> id >= 151643).count()).isEqualTo(6);
        assertThat(qwen.decode(ids)).isEqualTo("user\nHi\nassistant\n<think>\n\n</think>\n\nHello");
        assertThat(qwen.bosId()).isEqualTo(-1);
        assertThat(qwen.eosId()).isEqualTo(151645);
        assertThat(qwen.vocabSize()).isEqualTo(151669);
        assertThat(qwen.piece(151667)).isEqualTo("<think>");
    }

    @Test
    void llama3SpecialTokensAreSingleIds() {
        Tokenizer llama = tokenizer(LLAMA3);
        int[] ids = llama.encode("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", false);
        assertThat(ids).containsExactly(128000, 128006, 882, 128007, 271, 13347, 128009);
        assertThat(llama.decode(ids)).isEqualTo("user\n\nHi");
        assertThat(llama.bosId()).isEqualTo(128000);
        assertThat(llama.eosId()).isEqualTo(128001);
        assertThat(llama.vocabSize()).isEqualTo(128256);
        assertThat(new String(llama.decodePiece(882, 271), java.nio.charset.StandardCharsets.UTF_8))
                .isEqualTo("\n\n");
    }

    @Test
    void templateProcessingAddsBosWhenAskedTo(@TempDir Path dir) {
        Tokenizer tiny = HfTokenizerJson.load(TinyTokenizerJson.write(dir, "tokenizer.json", TinyTokenizerJson.tree()));
        int bos = 256 + TinyTokenizerJson.MERGES.length;
        int hello = 256 + 3;
        int world = 256 + 8;
        assertThat(tiny.encode("hello world", false)).containsExactly(hello, world);
        assertThat(tiny.encode("hello world", true)).containsExactly(bos, hello, world);
        assertThat(tiny.encode("<s>hello<extra>", false)).containsExactly(bos, hello, bos + 1);
        assertThat(tiny.decode(new int[] {bos, hello, bos + 1, world})).isEqualTo("hello<extra> world");
        assertThat(tiny.bosId()).isEqualTo(-1);
    }

    @Test
    void ignoreMergesTakesWholeWordsFromTheVocabulary(@TempDir Path dir) {
        ObjectNode tree = TinyTokenizerJson.tree();
        ObjectNode model = (ObjectNode) tree.get("model");
        ((ObjectNode) model.get("vocab")).put("hlo", 265);
        ((ArrayNode) tree.get("added_tokens"))
                .forEach(t -> ((ObjectNode) t).put("id", t.get("id").intValue() + 1));
        ((ObjectNode) tree.get("post_processor").get("special_tokens").get("<s>"))
                .putArray("ids")
                .add(266);
        Path plain = TinyTokenizerJson.write(dir, "plain.json", tree);
        model.put("ignore_merges", true);
        Path ignoring = TinyTokenizerJson.write(dir, "ignoring.json", tree);
        assertThat(HfTokenizerJson.load(plain).encode("hlo", false)).containsExactly('h', 'l', 'o');
        assertThat(HfTokenizerJson.load(ignoring).encode("hlo", false)).containsExactly(265);
    }

    static Stream<Arguments> faults() {
        return Stream.of(
                fault(
                        "model type Unigram",
                        t -> ((ObjectNode) t.get("model")).put("type", "Unigram"),
                        "unsupported model type 'Unigram'",
                        "supported: BPE"),
                fault(
                        "byte fallback",
                        t -> ((ObjectNode) t.get("model")).put("byte_fallback", true),
                        "byte_fallback",
                        "supported"),
                fault(
                        "normalizer NFKC",
                        t -> t.putObject("normalizer").put("type", "NFKC"),
                        "unsupported normalizer type 'NFKC'",
                        "supported: null, NFC, Sequence"),
                fault(
                        "pre-tokenizer Metaspace",
                        t -> t.putObject("pre_tokenizer").put("type", "Metaspace"),
                        "unsupported pre-tokenizer type 'Metaspace'",
                        "supported: ByteLevel"),
                fault("no pre-tokenizer", t -> t.putNull("pre_tokenizer"), "pre_tokenizer is null", "supported"),
                fault(
                        "empty pre-tokenizer sequence",
                        t -> ((ObjectNode) t.get("pre_tokenizer")).putArray("pretokenizers"),
                        "pre_tokenizer has no steps",
                        "supported"),
                fault(
                        "template id outside the vocabulary",
                        t -> ((ObjectNode) t.get("post_processor")
                                        .get("special_tokens")
                                        .get("<s>"))
                                .putArray("ids")
                                .add(999),
                        "id 999",
                        "outside the vocabulary"),
                fault(
                        "template naming an unknown token",
                        t -> ((ObjectNode) t.get("post_processor")
                                        .get("single")
                                        .get(0)
                                        .get("SpecialToken"))
                                .put("id", "<bos>"),
                        "names '<bos>'",
                        "special_tokens lacks"),
                fault(
                        "ByteLevel before Split",
                        t -> {
                            ArrayNode steps = (ArrayNode) t.get("pre_tokenizer").get("pretokenizers");
                            steps.add(steps.remove(0));
                        },
                        "pre_tokenizer step 0 is ByteLevel",
                        "ending in ByteLevel"),
                fault(
                        "Split behaviour Removed",
                        t -> splitStep(t).put("behavior", "Removed"),
                        "behavior = 'Removed'",
                        "supported: Isolated"),
                fault("inverted Split", t -> splitStep(t).put("invert", true), "invert = true", "supported"),
                fault(
                        "possessive interval",
                        t -> ((ObjectNode) splitStep(t).get("pattern")).put("Regex", "\\p{N}{1,3}+"),
                        "'{..}+'",
                        "index 5"),
                fault(
                        "unbalanced regex",
                        t -> ((ObjectNode) splitStep(t).get("pattern")).put("Regex", "(a|b"),
                        "unclosed '('",
                        "pre_tokenizer.pretokenizers[0].pattern"),
                fault(
                        "post-processor RobertaProcessing",
                        t -> t.putObject("post_processor").put("type", "RobertaProcessing"),
                        "unsupported post-processor type 'RobertaProcessing'",
                        "TemplateProcessing"),
                fault(
                        "template without A",
                        t -> ((ArrayNode) t.get("post_processor").get("single")).remove(1),
                        "has no sequence A",
                        "post_processor.single"),
                fault(
                        "decoder WordPiece",
                        t -> t.putObject("decoder").put("type", "WordPiece"),
                        "unsupported decoder 'WordPiece'",
                        "supported: ByteLevel"),
                fault(
                        "merge of unknown tokens",
                        t -> ((ArrayNode) t.get("model").get("merges")).add("x yz"),
                        "model.merges[9]",
                        "'yz' is not in model.vocab"),
                fault(
                        "merge without a space",
                        t -> ((ArrayNode) t.get("model").get("merges")).add("xy"),
                        "model.merges[9] = 'xy'",
                        "two tokens"),
                fault(
                        "vocabulary id twice",
                        t -> ((ObjectNode) t.get("model").get("vocab")).put("hello", 0),
                        "model.vocab['hello'] = 0",
                        "each used once"),
                fault(
                        "negative vocabulary id",
                        t -> ((ObjectNode) t.get("model").get("vocab")).put("hello", -4),
                        "model.vocab['hello'] = -4",
                        "not an id"),
                fault(
                        "added token with another id",
                        t -> ((ObjectNode) t.get("added_tokens").get(1)).put("id", 300),
                        "added_tokens[1] ('<extra>') has id 300",
                        "would give it id 266"),
                fault(
                        "added token twice",
                        t -> ((ArrayNode) t.get("added_tokens")).add(TinyTokenizerJson.addedToken(267, "<s>", true)),
                        "repeats the token '<s>'",
                        "added_tokens[2]"),
                fault("no model", t -> t.remove("model"), "model is missing", ""),
                fault(
                        "vocabulary is a list",
                        t -> ((ObjectNode) t.get("model")).putArray("vocab"),
                        "model.vocab is not an object",
                        ""),
                fault(
                        "dropout",
                        t -> ((ObjectNode) t.get("model")).put("dropout", 0.1),
                        "model.dropout = 0.1",
                        "random"));
    }

    private static Arguments fault(String name, Consumer<ObjectNode> change, String message, String detail) {
        return Arguments.of(Named.of(name, change), message, detail);
    }

    private static ObjectNode splitStep(ObjectNode tree) {
        return (ObjectNode) tree.get("pre_tokenizer").get("pretokenizers").get(0);
    }

    @ParameterizedTest
    @MethodSource("faults")
    void faultsAreReportedWithTheFile(Consumer<ObjectNode> change, String message, String detail, @TempDir Path dir) {
        ObjectNode tree = TinyTokenizerJson.tree();
        change.accept(tree);
        Path file = TinyTokenizerJson.write(dir, "tokenizer.json", tree);
        assertThatThrownBy(() -> HfTokenizerJson.load(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageStartingWith(file + ": ")
                .hasMessageContaining(message)
                .hasMessageContaining(detail);
    }

    @Test
    void truncatedAndNonJsonFilesAreReported(@TempDir Path dir) throws IOException {
        String json = TinyTokenizerJson.JSON.writeValueAsString(TinyTokenizerJson.tree());
        for (String content :
                new String[] {json.substring(0, json.length() / 2), "", "not json", "[1, 2]", "{\"a\": }"}) {
            Path file = Files.writeString(dir.resolve("tokenizer.json"), content);
            assertThatThrownBy(() -> HfTokenizerJson.load(file))
                    .isInstanceOf(ModelFormatException.class)
                    .hasMessageStartingWith(file + ": ");
        }
    }

    @Test
    void truncatedRealFilesAreReported(@TempDir Path dir) throws IOException {
        byte[] qwen = Files.readAllBytes(Fixtures.path(QWEN3 + "tokenizer.json"));
        for (int length : new int[] {qwen.length / 3, 2 * qwen.length / 3, qwen.length - 1}) {
            Path file = Files.write(dir.resolve("tokenizer.json"), Arrays.copyOf(qwen, length));
            assertThatThrownBy(() -> HfTokenizerJson.load(file))
                    .isInstanceOf(ModelFormatException.class)
                    .hasMessageStartingWith(file + ": not valid JSON");
        }
    }

    /** Every value of the tiny file, one at a time, replaced by values of every kind: loads or is reported. */
    @Test
    void anyValueReplacedLoadsOrIsReported(@TempDir Path dir) {
        JsonNode[] replacements = {
            NullNode.getInstance(),
            IntNode.valueOf(-1),
            IntNode.valueOf(Integer.MAX_VALUE),
            LongNode.valueOf(1L << 40),
            DoubleNode.valueOf(0.5),
            StringNode.valueOf(""),
            StringNode.valueOf("x y"),
            BooleanNode.TRUE,
            TinyTokenizerJson.JSON.createArrayNode(),
            TinyTokenizerJson.JSON.createObjectNode()
        };
        ObjectNode original = TinyTokenizerJson.tree();
        List<String> paths = new ArrayList<>();
        collectPaths(original, "", paths);
        int loaded = 0;
        for (String path : paths) {
            for (JsonNode replacement : replacements) {
                ObjectNode tree = original.deepCopy();
                replace(tree, path, replacement);
                Path file = TinyTokenizerJson.write(dir, "tokenizer.json", tree);
                try {
                    HfTokenizerJson.load(file).encode("hello world <s> 123", true);
                    loaded++;
                } catch (ModelFormatException e) {
                    assertThat(e).as(path + " = " + replacement).hasMessageStartingWith(file + ": ");
                }
            }
        }
        assertThat(paths).hasSizeGreaterThan(60);
        assertThat(loaded).isPositive().isLessThan(paths.size() * replacements.length);
    }

    /** JSON Pointer paths of every value below {@code node}, except the byte tokens' ids, which all act alike. */
    private static void collectPaths(JsonNode node, String path, List<String> out) {
        if (path.startsWith("/model/vocab/") && node.intValue() < 256 && node.intValue() % 16 != 0) {
            return;
        }
        if (!path.isEmpty()) {
            out.add(path);
        }
        if (node.isObject()) {
            node.propertyNames()
                    .forEach(name -> collectPaths(
                            node.get(name), path + "/" + name.replace("~", "~0").replace("/", "~1"), out));
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                collectPaths(node.get(i), path + "/" + i, out);
            }
        }
    }

    private static void replace(ObjectNode tree, String path, JsonNode value) {
        int cut = path.lastIndexOf('/');
        JsonNode parent = tree.at(path.substring(0, cut));
        String last = path.substring(cut + 1).replace("~1", "/").replace("~0", "~");
        if (parent instanceof ObjectNode object) {
            object.set(last, value);
        } else {
            ((ArrayNode) parent).set(Integer.parseInt(last), value);
        }
    }

    @Test
    void missingFileAndDirectoryAreReported(@TempDir Path dir) {
        assertThatThrownBy(() -> HfTokenizerJson.load(dir.resolve("absent.json")))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("absent.json: no such file");
        assertThatThrownBy(() -> HfTokenizerJson.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("not a regular file");
    }

    @Test
    void tokenizerConfigNamingAnUnknownTokenIsReported(@TempDir Path dir) throws IOException {
        Path file = TinyTokenizerJson.write(dir, "tokenizer.json", TinyTokenizerJson.tree());
        Path config = Files.writeString(
                dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": {\"content\": \"<s>\"}, \"eos_token\": \"</s>\"}");
        assertThatThrownBy(() -> HfTokenizerJson.load(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageStartingWith(config + ": ")
                .hasMessageContaining("eos_token '</s>' is not a token of " + file);
        Files.writeString(config, "{\"bos_token\": {\"content\": \"<s>\"}, \"eos_token\": \"<extra>\"}");
        Tokenizer tiny = HfTokenizerJson.load(file);
        assertThat(tiny.bosId()).isEqualTo(265);
        assertThat(tiny.eosId()).isEqualTo(266);
    }
}
