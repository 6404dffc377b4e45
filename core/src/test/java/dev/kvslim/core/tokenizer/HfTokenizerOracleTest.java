package dev.kvslim.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.kvslim.core.testing.Fixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@link HfTokenizerJson} against Hugging Face {@code tokenizers} itself (the Rust library, 0.21, bundled in DJL and
 * run offline): seeded random text must encode to the same ids and decode to the same text, for the Qwen3 and
 * Llama 3 files and for variants of a small vocabulary that exercise the other supported components.
 */
class HfTokenizerOracleTest {

    static {
        System.setProperty("offline", "true"); // DJL: no telemetry call
    }

    private static final int REAL_STRINGS = 1200;
    private static final int VARIANT_STRINGS = 300;
    private static final int MERGES_IN_SMALL_VOCABULARY = 12_000;
    private static final List<String> QWEN_MARKERS = List.of(
            "<|im_start|>",
            "<|im_end|>",
            "<|endoftext|>",
            "<think>",
            "</think>",
            "<tool_call>",
            "<|fim_prefix|>",
            "<|eot_id|>",
            "<|begin_of_text|>");
    private static final List<String> LLAMA_MARKERS = List.of(
            "<|begin_of_text|>",
            "<|end_of_text|>",
            "<|start_header_id|>",
            "<|end_header_id|>",
            "<|eot_id|>",
            "<|reserved_special_token_7|>",
            "<|im_start|>",
            "<think>");
    private static final Map<String, Tokenizers> REAL = new ConcurrentHashMap<>();

    /** Our tokenizer and Hugging Face's for the same file. */
    private record Tokenizers(Tokenizer ours, HuggingFaceTokenizer theirs) {

        static Tokenizers load(Path file) {
            try {
                return new Tokenizers(
                        HfTokenizerJson.load(file),
                        HuggingFaceTokenizer.newInstance(
                                file, Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false")));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @AfterAll
    static void closeHuggingFaceTokenizers() {
        REAL.values().forEach(t -> t.theirs().close());
    }

    static Stream<Arguments> realFiles() {
        return Stream.of(Arguments.of("qwen3", QWEN_MARKERS, 1L), Arguments.of("llama3", LLAMA_MARKERS, 2L));
    }

    private static Tokenizers real(String name) {
        return REAL.computeIfAbsent(name, n -> Tokenizers.load(Fixtures.path("tokenizers/" + n + "/tokenizer.json")));
    }

    @ParameterizedTest
    @MethodSource("realFiles")
    void randomTextEncodesAndDecodesAsHuggingFace(String name, List<String> markers, long seed) {
        List<String> mismatches = compare(real(name), new RandomText(seed, markers), REAL_STRINGS);
        assertThat(mismatches).as(name).isEmpty();
    }

    @ParameterizedTest
    @MethodSource("realFiles")
    void randomIdsDecodeAsHuggingFace(String name, List<String> markers, long seed) {
        Tokenizers t = real(name);
        SplittableRandom random = new SplittableRandom(seed);
        List<String> mismatches = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            int[] ids =
                    random.ints(1 + random.nextInt(12), 0, t.ours().vocabSize()).toArray();
            String theirs = t.theirs().decode(Arrays.stream(ids).asLongStream().toArray(), true);
            String ours = t.ours().decode(ids);
            if (!ours.equals(theirs)) {
                mismatches.add(Arrays.toString(ids) + ": ours " + escape(ours) + ", theirs " + escape(theirs));
            }
        }
        assertThat(mismatches).as(name).isEmpty();
    }

    /** Changes to the small vocabulary's file, each exercising supported components; and the markers to mix in. */
    static Stream<Arguments> variants() {
        return Stream.of(
                variant("Qwen3 pipeline: NFC, Split, ByteLevel", t -> {}),
                variant("GPT-2: ByteLevel with its regex and a prefix space", t -> {
                    t.putNull("normalizer");
                    t.set("pre_tokenizer", TinyTokenizerJson.byteLevel(true, true));
                }),
                variant(
                        "Split then ByteLevel adding a prefix space",
                        t -> ((ObjectNode) t.get("pre_tokenizer")
                                        .get("pretokenizers")
                                        .get(1))
                                .put("add_prefix_space", true)),
                variant("ignore_merges, with whole words that merging does not reach", t -> {
                    ((ObjectNode) t.get("model")).put("ignore_merges", true);
                    addWholeWords(
                            t,
                            "hello",
                            " hello",
                            "world",
                            " world",
                            "naïve",
                            " straße",
                            "Once",
                            " upon",
                            "café",
                            "THE",
                            "İstanbul",
                            "ﬁnance",
                            " KELVIN",
                            "'ll",
                            "😀",
                            "123");
                }),
                variant("a merge listed twice keeps its last rank", t -> {
                    ArrayNode merges = (ArrayNode) t.get("model").get("merges");
                    merges.add(merges.get(0).deepCopy());
                    merges.add(merges.get(7).deepCopy());
                    merges.add(merges.get(40).deepCopy());
                }),
                variant("Sequence of ByteLevel and TemplateProcessing with BOS and EOS", t -> {
                    ObjectNode template = TinyTokenizerJson.JSON.createObjectNode();
                    template.put("type", "TemplateProcessing");
                    ArrayNode single = template.putArray("single");
                    single.addObject()
                            .putObject("SpecialToken")
                            .put("id", "<|im_start|>")
                            .put("type_id", 0);
                    single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
                    single.addObject()
                            .putObject("SpecialToken")
                            .put("id", "<|im_end|>")
                            .put("type_id", 0);
                    template.putArray("pair");
                    ObjectNode specials = template.putObject("special_tokens");
                    for (String name : List.of("<|im_start|>", "<|im_end|>")) {
                        ObjectNode s = specials.putObject(name);
                        s.put("id", name);
                        s.putArray("ids").add(addedId(t, name));
                        s.putArray("tokens").add(name);
                    }
                    ObjectNode sequence = t.putObject("post_processor");
                    sequence.put("type", "Sequence");
                    sequence.putArray("processors")
                            .add(TinyTokenizerJson.byteLevel(false, false))
                            .add(template);
                }),
                variant(
                        "added tokens with lstrip, rstrip, single_word and normalized",
                        t -> {
                            addToken(t, "<mask>", true, true, true, false, false);
                            addToken(t, "hello", false, false, false, true, false);
                            addToken(t, "cafe\u0301", false, false, false, false, true);
                            addToken(t, "été", false, false, true, false, true);
                            addToken(t, "ab", true, true, false, true, false);
                            addToken(t, "\u00A0x", false, true, true, false, false);
                        },
                        "<mask>",
                        " <mask> ",
                        "\t<mask>\u2003",
                        "hello",
                        "xhello",
                        "hello_",
                        "café",
                        "cafe\u0301",
                        "été",
                        "e\u0301te\u0301  ",
                        " ab ",
                        "ab",
                        "\u00A0x",
                        "<|im_start|>"),
                variant(
                        "lookbehind, possessive, lazy, atomic, \\d and .",
                        t -> regex(t, "(?<=\\p{L})\\p{N}+|\\p{L}++|\\d+?|(?>[^\\s\\p{L}]{2,3})|.")),
                variant("line anchors", t -> regex(t, "^\\s+|\\s+$|^\\p{L}+|\\p{L}+$|\\S+?\\s|\\s")),
                variant(
                        "Tekken-style cased words",
                        t -> regex(
                                t,
                                "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}"
                                        + "\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}"
                                        + "\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+"
                                        + "|\\s+(?!\\S)|\\s+")),
                variant(
                        "ranges and hex escapes",
                        t -> regex(
                                t,
                                "[\\u4e00-\\u9fa5\\u3040-\\u309f\\u30a0-\\u30ff]+"
                                        + "|[!-/:-@\\[-`{-~][A-Za-z]+|\\x{1F600}|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
                                        + "| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")),
                variant(
                        "case-insensitive group, lazy interval, empty matches",
                        t -> regex(t, "(?i:ab|cd|'ll)+|\\p{N}{2,}?|\\p{L}*|\\s?")),
                variant(
                        "a class that fails on emoji but not on their halves",
                        t -> regex(t, "[^\\p{So}\\p{Sk}\\s]+|\\s+")),
                variant("Split on a string, NFC in a Sequence", t -> {
                    ObjectNode split = (ObjectNode)
                            t.get("pre_tokenizer").get("pretokenizers").get(0);
                    split.putObject("pattern").put("String", " ");
                    ObjectNode sequence = t.putObject("normalizer");
                    sequence.put("type", "Sequence");
                    sequence.putArray("normalizers").addObject().put("type", "NFC");
                }));
    }

    private static Arguments variant(String name, Consumer<ObjectNode> change, String... markers) {
        return Arguments.of(Named.of(name, change), List.of(markers));
    }

    private static void regex(ObjectNode tree, String regex) {
        ((ObjectNode) tree.get("pre_tokenizer").get("pretokenizers").get(0))
                .putObject("pattern")
                .put("Regex", regex);
    }

    /** Adds the byte-level strings of {@code words} to the vocabulary, moving the added tokens up to make room. */
    private static void addWholeWords(ObjectNode tree, String... words) {
        ObjectNode vocab = (ObjectNode) tree.get("model").get("vocab");
        for (String word : words) {
            StringBuilder byteLevel = new StringBuilder();
            for (byte b : word.getBytes(StandardCharsets.UTF_8)) {
                byteLevel.append(TinyTokenizerJson.byteChar(b & 0xFF));
            }
            if (!vocab.has(byteLevel.toString())) {
                vocab.put(byteLevel.toString(), vocab.size());
            }
        }
        int next = vocab.size();
        for (JsonNode token : tree.get("added_tokens")) {
            ((ObjectNode) token).put("id", next++);
        }
    }

    /** Adds a token to {@code added_tokens} with the id tokenizers gives it: its vocabulary id, or the next one. */
    private static void addToken(
            ObjectNode tree,
            String content,
            boolean special,
            boolean lstrip,
            boolean rstrip,
            boolean singleWord,
            boolean normalized) {
        JsonNode vocab = tree.get("model").get("vocab");
        ArrayNode added = (ArrayNode) tree.get("added_tokens");
        int next = vocab.size();
        for (JsonNode t : added) {
            next = Math.max(next, t.get("id").intValue() + 1);
        }
        int id = vocab.has(content) ? vocab.get(content).intValue() : next;
        added.add(TinyTokenizerJson.addedToken(id, content, special)
                .put("lstrip", lstrip)
                .put("rstrip", rstrip)
                .put("single_word", singleWord)
                .put("normalized", normalized));
    }

    private static int addedId(ObjectNode tree, String content) {
        for (JsonNode t : tree.get("added_tokens")) {
            if (t.get("content").stringValue().equals(content)) {
                return t.get("id").intValue();
            }
        }
        throw new IllegalArgumentException(content);
    }

    @ParameterizedTest
    @MethodSource("variants")
    void variantsEncodeAndDecodeAsHuggingFace(Consumer<ObjectNode> change, List<String> markers, @TempDir Path dir) {
        ObjectNode tree = SmallVocabulary.TREE.deepCopy();
        change.accept(tree);
        Tokenizers t = Tokenizers.load(TinyTokenizerJson.write(dir, "tokenizer.json", tree));
        try {
            List<String> allMarkers = new ArrayList<>(QWEN_MARKERS);
            allMarkers.addAll(markers);
            assertThat(compare(t, new RandomText(3, allMarkers), VARIANT_STRINGS))
                    .isEmpty();
        } finally {
            t.theirs().close();
        }
    }

    /**
     * The first differences of {@code count} strings from {@code text}: ids with and without special tokens, and
     * the text the ids decode to.
     */
    private static List<String> compare(Tokenizers t, RandomText text, int count) {
        List<String> mismatches = new ArrayList<>();
        for (int i = 0; i < count && mismatches.size() < 10; i++) {
            String s = text.next();
            for (boolean addSpecial : new boolean[] {false, true}) {
                long[] theirs = t.theirs().encode(s, addSpecial, false).getIds();
                int[] ours = t.ours().encode(s, addSpecial);
                if (!Arrays.equals(Arrays.stream(ours).asLongStream().toArray(), theirs)) {
                    mismatches.add("#" + i + " " + escape(s) + (addSpecial ? " with" : " without")
                            + " special tokens: ours " + Arrays.toString(ours) + ", theirs " + Arrays.toString(theirs));
                }
            }
            long[] ids = t.theirs().encode(s, false, false).getIds();
            String theirsDecoded = t.theirs().decode(ids, true);
            String oursDecoded = t.ours()
                    .decode(Arrays.stream(ids).mapToInt(Math::toIntExact).toArray());
            if (!oursDecoded.equals(theirsDecoded)) {
                mismatches.add("#" + i + " " + escape(s) + " decodes: ours " + escape(oursDecoded) + ", theirs "
                        + escape(theirsDecoded));
            }
        }
        return mismatches;
    }

    /** {@code s} in quotes, with everything but printable ASCII as {@code \\uXXXX}. */
    private static String escape(String s) {
        StringBuilder out = new StringBuilder("\"");
        s.chars()
                .forEach(
                        c -> out.append(c >= ' ' && c < 0x7F ? String.valueOf((char) c) : String.format("\\u%04X", c)));
        return out.append('"').toString();
    }

    /**
     * A small byte-level vocabulary cut from Qwen3's file: the 256 byte tokens and what its first merges make,
     * with Qwen3's normalizer, pre-tokenizer and decoder and three of its added tokens.
     */
    private static final class SmallVocabulary {

        static final ObjectNode TREE = build();

        private static ObjectNode build() {
            JsonNode qwen = TinyTokenizerJson.JSON.readTree(Fixtures.path("tokenizers/qwen3/tokenizer.json"));
            ObjectNode tree = TinyTokenizerJson.tree();
            ObjectNode model = (ObjectNode) tree.get("model");
            ObjectNode vocab = model.putObject("vocab");
            Map<String, Integer> ids = new HashMap<>();
            for (int b = 0; b < 256; b++) {
                ids.put(String.valueOf(TinyTokenizerJson.byteChar(b)), b);
            }
            ArrayNode merges = model.putArray("merges");
            JsonNode qwenMerges = qwen.get("model").get("merges");
            for (int i = 0; i < MERGES_IN_SMALL_VOCABULARY; i++) {
                String left = qwenMerges.get(i).get(0).stringValue();
                String right = qwenMerges.get(i).get(1).stringValue();
                if (ids.containsKey(left) && ids.containsKey(right)) {
                    merges.addArray().add(left).add(right);
                    ids.putIfAbsent(left + right, ids.size());
                }
            }
            ids.forEach(vocab::put);
            ArrayNode added = tree.putArray("added_tokens");
            added.add(TinyTokenizerJson.addedToken(ids.size(), "<|im_start|>", true));
            added.add(TinyTokenizerJson.addedToken(ids.size() + 1, "<|im_end|>", true));
            added.add(TinyTokenizerJson.addedToken(ids.size() + 2, "<think>", false)
                    .put("normalized", false));
            tree.set("normalizer", qwen.get("normalizer"));
            tree.set("pre_tokenizer", qwen.get("pre_tokenizer"));
            tree.set("post_processor", qwen.get("post_processor"));
            tree.set("decoder", qwen.get("decoder"));
            return tree;
        }
    }
}
