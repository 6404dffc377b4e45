package dev.kvslim.core.tokenizer;

import dev.kvslim.core.io.ModelFormatException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads a Hugging Face {@code tokenizer.json} of a byte-level BPE model (Llama 3, Qwen2 and Qwen3, GPT-2, Mistral's
 * byte-level vocabularies) into a tokenizer that encodes and decodes as the Hugging Face {@code tokenizers} library
 * (0.21) does with that file.
 *
 * <p>Supported: model {@code BPE} (merges as {@code "a b"} strings or {@code [a, b]} pairs, {@code ignore_merges},
 * no byte fallback, dropout or subword affixes); normalizer none, {@code NFC} or a {@code Sequence} of those;
 * pre-tokenizer {@code ByteLevel}, or a {@code Sequence} of {@code Split} steps (a regex or a string, behaviour
 * {@code Isolated}, not inverted) ending in {@code ByteLevel}; {@code added_tokens} with all their options;
 * post-processor none, {@code ByteLevel}, {@code TemplateProcessing} (its single-sequence template) or a
 * {@code Sequence} of those; decoder {@code ByteLevel}. Truncation and padding, which act on model inputs rather
 * than on the text, are not applied. BOS and EOS are the {@code bos_token} and {@code eos_token} of the
 * {@code tokenizer_config.json} beside the file, when there is one. Anything else is refused with a
 * {@link ModelFormatException} that names the file, the place in it and what is supported.
 */
public final class HfTokenizerJson {

    private static final String CONFIG_FILE = "tokenizer_config.json";

    private final Path file;

    private HfTokenizerJson(Path file) {
        this.file = file;
    }

    /**
     * The tokenizer that {@code tokenizerJson} describes.
     *
     * @throws ModelFormatException naming the file, if it cannot be read, is not valid JSON, is inconsistent, or uses
     *                              a component this loader does not support
     */
    public static Tokenizer load(Path tokenizerJson) {
        HfTokenizerJson loader = new HfTokenizerJson(tokenizerJson);
        return loader.build(loader.read());
    }

    private JsonNode read() {
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(file, Files.exists(file) ? "not a regular file" : "no such file");
        }
        JsonNode root;
        try {
            root = JsonMapper.builder().build().readTree(file);
        } catch (JacksonException e) {
            throw new ModelFormatException(file, "not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw fail("the top level is not a JSON object");
        }
        return root;
    }

    /** The model's vocabulary (token strings by id), merges in priority order, and whether it ignores merges. */
    private record BpeModel(
            String[] tokens,
            Map<String, Integer> ids,
            List<ByteLevelBpeTokenizer.Merge> merges,
            boolean ignoreMerges) {}

    /** The ids {@code encode(text, true)} puts before and after the text's own. */
    private record Surrounding(int[] before, int[] after) {

        static final Surrounding NONE = new Surrounding(new int[0], new int[0]);

        /** These ids inside {@code outer}'s. */
        Surrounding inside(Surrounding outer) {
            return new Surrounding(concat(outer.before, before), concat(after, outer.after));
        }

        private static int[] concat(int[] a, int[] b) {
            int[] both = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, both, a.length, b.length);
            return both;
        }
    }

    private Tokenizer build(JsonNode root) {
        BpeModel model = model(object(root, "model", ""));
        List<AddedToken> added = addedTokens(root.get("added_tokens"), model.ids());
        UnaryOperator<String> normalizer = normalizer(root.get("normalizer"), "normalizer");
        List<PreTokenizerStep> steps = preTokenizer(root.get("pre_tokenizer"));
        Surrounding surrounding = postProcessor(root.get("post_processor"), "post_processor");
        decoder(root.get("decoder"));

        int n = Math.max(
                model.tokens().length,
                added.stream().mapToInt(t -> t.id() + 1).max().orElse(0));
        String[] tokens = Arrays.copyOf(model.tokens(), n);
        TokenType[] types = new TokenType[n];
        Arrays.fill(types, TokenType.NORMAL);
        Map<String, Integer> addedIds = new HashMap<>();
        for (AddedToken t : added) {
            tokens[t.id()] = t.content();
            types[t.id()] = t.special() ? TokenType.CONTROL : TokenType.NORMAL;
            addedIds.put(t.content(), t.id());
        }
        int[] bosEos = bosAndEos(addedIds, model.ids());
        try {
            return new ByteLevelBpeTokenizer(
                    tokens,
                    types,
                    model.merges(),
                    model.ignoreMerges() ? model.ids() : Map.of(),
                    new TextSegmenter(added, normalizer, steps),
                    surrounding.before(),
                    surrounding.after(),
                    bosEos[0],
                    bosEos[1]);
        } catch (IllegalArgumentException e) {
            throw fail(e.getMessage());
        }
    }

    private BpeModel model(JsonNode model) {
        String type = string(model, "type", "model");
        if (!type.equals("BPE")) {
            throw fail("unsupported model type '" + type + "' (supported: BPE)");
        }
        JsonNode dropout = model.get("dropout");
        if (dropout != null && !dropout.isNull() && !(dropout.isNumber() && dropout.doubleValue() == 0)) {
            throw fail("model.dropout = " + dropout + " is not supported (encoding would be random)");
        }
        if (bool(model, "byte_fallback", false, "model")) {
            throw fail("model.byte_fallback = true is not supported (supported: byte-level BPE without byte fallback)");
        }
        for (String affix : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            JsonNode value = model.get(affix);
            if (value != null
                    && !value.isNull()
                    && !(value.isString() && value.stringValue().isEmpty())) {
                throw fail("model." + affix + " = " + value + " is not supported (supported: null or \"\")");
            }
        }
        JsonNode vocab = object(model, "vocab", "model");
        String[] tokens = new String[vocab.size()];
        Map<String, Integer> ids = new HashMap<>(2 * vocab.size());
        for (Map.Entry<String, JsonNode> entry : vocab.properties()) {
            int id = index(entry.getValue(), "model.vocab['" + entry.getKey() + "']");
            if (id >= tokens.length || tokens[id] != null) {
                throw fail("model.vocab['" + entry.getKey() + "'] = " + id + ": the vocabulary's " + tokens.length
                        + " ids must be 0.." + (tokens.length - 1) + ", each used once");
            }
            tokens[id] = entry.getKey();
            ids.put(entry.getKey(), id);
        }
        return new BpeModel(
                tokens,
                ids,
                merges(array(model, "merges", "model"), ids),
                bool(model, "ignore_merges", false, "model"));
    }

    /** The merges, each checked against the vocabulary; a pair listed twice keeps its last rank, as tokenizers does. */
    private List<ByteLevelBpeTokenizer.Merge> merges(JsonNode merges, Map<String, Integer> ids) {
        List<ByteLevelBpeTokenizer.Merge> all = new ArrayList<>(merges.size());
        Map<ByteLevelBpeTokenizer.Merge, Integer> lastRank = new HashMap<>(2 * merges.size());
        for (int i = 0; i < merges.size(); i++) {
            String where = "model.merges[" + i + "]";
            JsonNode m = merges.get(i);
            String left;
            String right;
            if (m.isString()) {
                String rule = m.stringValue();
                int space = rule.indexOf(' ');
                if (space < 0 || rule.indexOf(' ', space + 1) >= 0) {
                    throw fail(where + " = '" + rule + "' is not two tokens separated by one space");
                }
                left = rule.substring(0, space);
                right = rule.substring(space + 1);
            } else if (m.isArray()
                    && m.size() == 2
                    && m.get(0).isString()
                    && m.get(1).isString()) {
                left = m.get(0).stringValue();
                right = m.get(1).stringValue();
            } else {
                throw fail(where + " is neither \"a b\" nor [\"a\", \"b\"]");
            }
            for (String token : List.of(left, right, left + right)) {
                if (!ids.containsKey(token)) {
                    throw fail(where + " ('" + left + "' + '" + right + "'): '" + token + "' is not in model.vocab");
                }
            }
            ByteLevelBpeTokenizer.Merge merge = new ByteLevelBpeTokenizer.Merge(left, right);
            all.add(merge);
            lastRank.put(merge, i);
        }
        return IntStream.range(0, all.size())
                .filter(i -> lastRank.get(all.get(i)) == i)
                .mapToObj(all::get)
                .toList();
    }

    /**
     * The added tokens, each checked to have the id tokenizers gives it when it reads the file: the vocabulary's id
     * for a token already in the vocabulary, otherwise the next id after the vocabulary and the added tokens so far.
     */
    private List<AddedToken> addedTokens(JsonNode list, Map<String, Integer> vocab) {
        List<AddedToken> tokens = new ArrayList<>();
        if (list == null || list.isNull()) {
            return tokens;
        }
        if (!list.isArray()) {
            throw fail("added_tokens is not an array");
        }
        Map<String, Integer> seen = new HashMap<>();
        int maxId = -1;
        for (int i = 0; i < list.size(); i++) {
            String where = "added_tokens[" + i + "]";
            JsonNode t = list.get(i);
            if (!t.isObject()) {
                throw fail(where + " is not an object");
            }
            String content = string(t, "content", where);
            int id = index(field(t, "id", where), where + ".id");
            if (content.isEmpty()) {
                throw fail(where + " has empty content");
            }
            if (seen.containsKey(content)) {
                throw fail(where + " repeats the token '" + content + "' of added_tokens[" + seen.get(content) + "]");
            }
            Integer inVocab = vocab.get(content);
            int expected = inVocab != null
                    ? inVocab
                    : maxId < 0 ? vocab.size() : maxId >= vocab.size() || vocab.isEmpty() ? maxId + 1 : vocab.size();
            if (id != expected) {
                throw fail(
                        where + " ('" + content + "') has id " + id + ", but tokenizers would give it id " + expected);
            }
            seen.put(content, i);
            maxId = Math.max(maxId, id);
            boolean special = bool(t, "special", false, where);
            tokens.add(new AddedToken(
                    id,
                    content,
                    special,
                    bool(t, "single_word", false, where),
                    bool(t, "lstrip", false, where),
                    bool(t, "rstrip", false, where),
                    bool(t, "normalized", !special, where)));
        }
        return tokens;
    }

    private UnaryOperator<String> normalizer(JsonNode node, String where) {
        if (node == null || node.isNull()) {
            return UnaryOperator.identity();
        }
        String type = string(node, "type", where);
        return switch (type) {
            case "NFC" -> text -> Normalizer.normalize(text, Normalizer.Form.NFC);
            case "Sequence" -> {
                JsonNode parts = array(node, "normalizers", where);
                UnaryOperator<String> all = UnaryOperator.identity();
                for (int i = 0; i < parts.size(); i++) {
                    UnaryOperator<String> before = all;
                    UnaryOperator<String> next = normalizer(parts.get(i), where + ".normalizers[" + i + "]");
                    all = text -> next.apply(before.apply(text));
                }
                yield all;
            }
            default ->
                throw fail("unsupported normalizer type '" + type + "' at " + where
                        + " (supported: null, NFC, Sequence of those)");
        };
    }

    private List<PreTokenizerStep> preTokenizer(JsonNode node) {
        String supported = " (supported: ByteLevel, or a Sequence of Split steps ending in ByteLevel)";
        if (node == null || node.isNull()) {
            throw fail("pre_tokenizer is null: not a byte-level BPE tokenizer" + supported);
        }
        List<PreTokenizerStep> steps = new ArrayList<>();
        preTokenizerSteps(node, "pre_tokenizer", steps, supported);
        if (steps.isEmpty()) {
            throw fail("pre_tokenizer has no steps: not a byte-level BPE tokenizer" + supported);
        }
        for (int i = 0; i < steps.size(); i++) {
            if (steps.get(i) instanceof PreTokenizerStep.ByteLevel != (i == steps.size() - 1)) {
                throw fail("pre_tokenizer step " + i + " is "
                        + steps.get(i).getClass().getSimpleName() + supported);
            }
        }
        return steps;
    }

    private void preTokenizerSteps(JsonNode node, String where, List<PreTokenizerStep> steps, String supported) {
        String type = string(node, "type", where);
        switch (type) {
            case "Sequence" -> {
                JsonNode parts = array(node, "pretokenizers", where);
                for (int i = 0; i < parts.size(); i++) {
                    preTokenizerSteps(parts.get(i), where + ".pretokenizers[" + i + "]", steps, supported);
                }
            }
            case "Split" -> steps.add(split(node, where));
            case "ByteLevel" -> {
                field(node, "add_prefix_space", where);
                steps.add(new PreTokenizerStep.ByteLevel(
                        bool(node, "add_prefix_space", false, where), bool(node, "use_regex", true, where)));
            }
            default -> throw fail("unsupported pre-tokenizer type '" + type + "' at " + where + supported);
        }
    }

    private PreTokenizerStep split(JsonNode node, String where) {
        String behavior = string(node, "behavior", where);
        if (!behavior.equals("Isolated")) {
            throw fail(where + ".behavior = '" + behavior + "' is not supported (supported: Isolated)");
        }
        if (bool(node, "invert", false, where)) {
            throw fail(where + ".invert = true is not supported (supported: false)");
        }
        JsonNode pattern = object(node, "pattern", where);
        if (pattern.has("Regex")) {
            try {
                return new PreTokenizerStep.Split(OnigurumaRegex.compile(string(pattern, "Regex", where + ".pattern")));
            } catch (IllegalArgumentException e) {
                throw fail(where + ".pattern: " + e.getMessage());
            }
        }
        if (pattern.has("String")) {
            return new PreTokenizerStep.Split(Pattern.compile(Pattern.quote(string(pattern, "String", where))));
        }
        throw fail(where + ".pattern is neither {\"Regex\": ...} nor {\"String\": ...}");
    }

    /** What the post-processor puts around the text's ids. */
    private Surrounding postProcessor(JsonNode node, String where) {
        if (node == null || node.isNull()) {
            return Surrounding.NONE;
        }
        String type = string(node, "type", where);
        return switch (type) {
            case "ByteLevel" -> Surrounding.NONE;
            case "TemplateProcessing" -> template(node, where);
            case "Sequence" -> {
                JsonNode parts = array(node, "processors", where);
                Surrounding all = Surrounding.NONE;
                for (int i = 0; i < parts.size(); i++) {
                    all = all.inside(postProcessor(parts.get(i), where + ".processors[" + i + "]"));
                }
                yield all;
            }
            default ->
                throw fail("unsupported post-processor type '" + type + "' at " + where
                        + " (supported: null, ByteLevel, TemplateProcessing, Sequence of those)");
        };
    }

    /** The ids of the single-sequence template before and after its sequence {@code $A}. */
    private Surrounding template(JsonNode node, String where) {
        JsonNode single = array(node, "single", where);
        JsonNode specials = object(node, "special_tokens", where);
        List<Integer> before = new ArrayList<>();
        List<Integer> after = new ArrayList<>();
        List<Integer> side = before;
        for (int i = 0; i < single.size(); i++) {
            String at = where + ".single[" + i + "]";
            JsonNode piece = single.get(i);
            if (piece.has("Sequence")) {
                String id = string(object(piece, "Sequence", at), "id", at + ".Sequence");
                if (!id.equals("A") || side == after) {
                    throw fail(at + " is sequence " + id + "; a single-sequence template takes sequence A once");
                }
                side = after;
            } else if (piece.has("SpecialToken")) {
                String name = string(object(piece, "SpecialToken", at), "id", at + ".SpecialToken");
                JsonNode special = specials.get(name);
                if (special == null || !special.isObject()) {
                    throw fail(at + " names '" + name + "', which " + where + ".special_tokens lacks");
                }
                JsonNode ids = array(special, "ids", where + ".special_tokens['" + name + "']");
                for (int k = 0; k < ids.size(); k++) {
                    side.add(index(ids.get(k), where + ".special_tokens['" + name + "'].ids[" + k + "]"));
                }
            } else {
                throw fail(at + " is neither {\"SpecialToken\": ...} nor {\"Sequence\": ...}");
            }
        }
        if (side == before) {
            throw fail(where + ".single has no sequence A");
        }
        return new Surrounding(
                before.stream().mapToInt(Integer::intValue).toArray(),
                after.stream().mapToInt(Integer::intValue).toArray());
    }

    private void decoder(JsonNode node) {
        String type = node == null || node.isNull() ? "null" : string(node, "type", "decoder");
        if (!type.equals("ByteLevel")) {
            throw fail("unsupported decoder '" + type + "' (supported: ByteLevel)");
        }
    }

    /** BOS and EOS ids from the {@code tokenizer_config.json} beside the file; -1 where it names none. */
    private int[] bosAndEos(Map<String, Integer> added, Map<String, Integer> vocab) {
        Path configFile = file.toAbsolutePath().resolveSibling(CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            return new int[] {-1, -1};
        }
        HfTokenizerJson config = new HfTokenizerJson(configFile);
        JsonNode root = config.read();
        int[] ids = new int[2];
        List<String> keys = List.of("bos_token", "eos_token");
        for (int i = 0; i < 2; i++) {
            JsonNode token = root.get(keys.get(i));
            if (token != null && token.isObject()) {
                token = token.get("content");
            }
            if (token == null || token.isNull()) {
                ids[i] = -1;
            } else if (!token.isString()) {
                throw config.fail(keys.get(i) + " is neither a string, {\"content\": ...} nor null");
            } else {
                Integer id = added.getOrDefault(token.stringValue(), vocab.get(token.stringValue()));
                if (id == null) {
                    throw config.fail(keys.get(i) + " '" + token.stringValue() + "' is not a token of " + file);
                }
                ids[i] = id;
            }
        }
        return ids;
    }

    /** The path of member {@code name} of the object at {@code where} ("" for the top level). */
    private static String path(String where, String name) {
        return where.isEmpty() ? name : where + "." + name;
    }

    /** Member {@code name} of {@code object}, which must be present and not null. */
    private JsonNode field(JsonNode object, String name, String where) {
        if (!object.isObject()) {
            throw fail(where + " is not an object");
        }
        JsonNode value = object.get(name);
        if (value == null || value.isNull()) {
            throw fail(path(where, name) + " is missing");
        }
        return value;
    }

    private JsonNode object(JsonNode object, String name, String where) {
        JsonNode value = field(object, name, where);
        if (!value.isObject()) {
            throw fail(path(where, name) + " is not an object");
        }
        return value;
    }

    private JsonNode array(JsonNode object, String name, String where) {
        JsonNode value = field(object, name, where);
        if (!value.isArray()) {
            throw fail(path(where, name) + " is not an array");
        }
        return value;
    }

    private String string(JsonNode object, String name, String where) {
        JsonNode value = field(object, name, where);
        if (!value.isString()) {
            throw fail(path(where, name) + " is not a string");
        }
        return value.stringValue();
    }

    /** Member {@code name} of {@code object}, {@code fallback} if it is absent or null. */
    private boolean bool(JsonNode object, String name, boolean fallback, String where) {
        JsonNode value = object.get(name);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (!value.isBoolean()) {
            throw fail(path(where, name) + " is not true or false");
        }
        return value.booleanValue();
    }

    /** A non-negative int id. */
    private int index(JsonNode value, String where) {
        if (!value.isIntegralNumber() || !value.canConvertToInt() || value.intValue() < 0) {
            throw fail(where + " = " + value + " is not an id (a non-negative int)");
        }
        return value.intValue();
    }

    private ModelFormatException fail(String message) {
        return new ModelFormatException(file, message);
    }
}
