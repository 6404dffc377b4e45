package dev.kvslim.core.format.convert;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufKv;
import dev.kvslim.core.format.gguf.GgufValueType;
import dev.kvslim.core.format.gguf.GgufWriter;
import dev.kvslim.core.io.JsonFiles;
import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.tokenizer.ByteLevelPreTokenizers;
import dev.kvslim.core.tokenizer.TokenType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Moves a vocabulary between Hugging Face's {@code tokenizer.json} (byte-level BPE) and GGUF's
 * {@code tokenizer.ggml.*} metadata, the way llama.cpp's converter writes it. SentencePiece vocabularies have no
 * tokenizer.json form here; they travel as a vocabulary-only GGUF file.
 */
final class TokenizerConversion {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String P = "tokenizer.ggml.";

    private TokenizerConversion() {}

    /** GGUF metadata for the byte-level BPE vocabulary of {@code tokenizerJson}. */
    static List<GgufKv> toGguf(Path tokenizerJson, Path tokenizerConfig) {
        JsonNode root = JsonFiles.read(tokenizerJson);
        JsonNode model = root.get("model");
        if (model == null || !"BPE".equals(model.path("type").asString(""))) {
            throw new ModelFormatException(tokenizerJson, "only BPE tokenizers convert to GGUF");
        }
        Map<String, Integer> ids = new LinkedHashMap<>();
        model.path("vocab")
                .properties()
                .forEach(e -> ids.put(e.getKey(), e.getValue().asInt()));
        int size = ids.values().stream().mapToInt(i -> i + 1).max().orElse(0);
        for (JsonNode added : root.path("added_tokens")) {
            size = Math.max(size, added.path("id").asInt() + 1);
        }
        String[] tokens = new String[size];
        int[] types = new int[size];
        ids.forEach((token, id) -> {
            tokens[id] = token;
            types[id] = TokenType.NORMAL.ggufId;
        });
        for (JsonNode added : root.path("added_tokens")) {
            int id = added.path("id").asInt();
            tokens[id] = added.path("content").asString();
            types[id] = added.path("special").asBoolean() ? TokenType.CONTROL.ggufId : TokenType.USER_DEFINED.ggufId;
        }
        for (int i = 0; i < size; i++) {
            if (tokens[i] == null) {
                tokens[i] = "[PAD" + i + "]";
                types[i] = TokenType.UNUSED.ggufId;
            }
        }
        List<String> merges = new ArrayList<>();
        for (JsonNode m : model.path("merges")) {
            merges.add(m.isArray() ? m.get(0).asString() + " " + m.get(1).asString() : m.asString());
        }
        List<GgufKv> kvs = new ArrayList<>();
        kvs.add(GgufKv.of(P + "model", GgufValueType.STRING, "gpt2"));
        kvs.add(GgufKv.of(P + "pre", GgufValueType.STRING, preTokenizer(tokenizerJson, root.get("pre_tokenizer"))));
        kvs.add(GgufKv.array(P + "tokens", GgufValueType.STRING, tokens));
        kvs.add(GgufKv.array(P + "token_type", GgufValueType.INT32, types));
        kvs.add(GgufKv.array(P + "merges", GgufValueType.STRING, merges.toArray(String[]::new)));
        if (Files.exists(tokenizerConfig)) {
            JsonNode cfg = JsonFiles.read(tokenizerConfig);
            Map<String, Integer> all = new LinkedHashMap<>(ids);
            root.path("added_tokens")
                    .forEach(a ->
                            all.put(a.path("content").asString(), a.path("id").asInt()));
            specialId(cfg, "bos_token", all)
                    .ifPresent(id -> kvs.add(GgufKv.of(P + "bos_token_id", GgufValueType.UINT32, (long) id)));
            specialId(cfg, "eos_token", all)
                    .ifPresent(id -> kvs.add(GgufKv.of(P + "eos_token_id", GgufValueType.UINT32, (long) id)));
            if (cfg.has("add_bos_token")) {
                kvs.add(GgufKv.of(
                        P + "add_bos_token",
                        GgufValueType.BOOL,
                        cfg.get("add_bos_token").asBoolean()));
            }
            JsonNode template = cfg.get("chat_template");
            if (template != null && template.isString()) {
                kvs.add(GgufKv.of("tokenizer.chat_template", GgufValueType.STRING, template.asString()));
            }
        }
        return kvs;
    }

    private static Optional<Integer> specialId(JsonNode cfg, String key, Map<String, Integer> ids) {
        JsonNode v = cfg.get(key);
        String content = v == null || v.isNull()
                ? null
                : v.isObject() ? v.path("content").asString() : v.asString();
        return Optional.ofNullable(content == null ? null : ids.get(content));
    }

    private static String preTokenizer(Path file, JsonNode pre) {
        if (pre != null
                && "ByteLevel".equals(pre.path("type").asString(""))
                && pre.path("use_regex").asBoolean(true)) {
            return "gpt-2";
        }
        if (pre != null && "Sequence".equals(pre.path("type").asString(""))) {
            for (JsonNode p : pre.path("pretokenizers")) {
                if ("Split".equals(p.path("type").asString(""))) {
                    String name = ByteLevelPreTokenizers.ggufName(
                            p.path("pattern").path("Regex").asString(""));
                    if (name != null) {
                        return name;
                    }
                }
            }
        }
        if (pre != null
                && "ByteLevel".equals(pre.path("type").asString(""))
                && !pre.path("use_regex").asBoolean(true)) {
            // KVSlim's demo tokenizer: byte-level BPE that splits no words first; llama.cpp has no such pre-tokenizer
            throw new ModelFormatException(
                    file,
                    "its pre-tokenizer is byte-level without word splitting (use_regex false, as KVSlim's demo"
                            + " tokenizer), which no GGUF pre-tokenizer name describes, so llama.cpp could not read the"
                            + " file; convert to safetensors instead, or keep the Hugging Face folder");
        }
        throw new ModelFormatException(
                file,
                "its pre-tokenizer has no GGUF name (known: "
                        + String.join(", ", ByteLevelPreTokenizers.BY_GGUF_NAME.keySet()) + ")");
    }

    /** tokenizer.json text for a GGUF {@code gpt2} vocabulary. */
    static String toTokenizerJson(GgufFile f) {
        String[] tokens = f.getStrings(P + "tokens");
        int[] types = f.getInts(P + "token_type");
        String[] merges = f.getStrings(P + "merges");
        if (tokens == null || merges == null) {
            throw f.fail("gpt2 vocabulary lacks tokens or merges");
        }
        String pre = f.getString(P + "pre", "gpt-2");
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        ObjectNode vocab = JSON.createObjectNode();
        for (int id = 0; id < tokens.length; id++) {
            int type = types == null ? TokenType.NORMAL.ggufId : types[id];
            if (type == TokenType.CONTROL.ggufId || type == TokenType.USER_DEFINED.ggufId) {
                added.addObject()
                        .put("id", id)
                        .put("content", tokens[id])
                        .put("single_word", false)
                        .put("lstrip", false)
                        .put("rstrip", false)
                        .put("normalized", type == TokenType.USER_DEFINED.ggufId)
                        .put("special", type == TokenType.CONTROL.ggufId);
            } else {
                vocab.put(tokens[id], id);
            }
        }
        root.putNull("normalizer");
        if (pre.equals("gpt-2")) {
            byteLevel(root.putObject("pre_tokenizer"), true);
        } else {
            String regex = ByteLevelPreTokenizers.BY_GGUF_NAME.get(pre);
            if (regex == null) {
                throw f.fail("pre-tokenizer '" + pre + "' has no tokenizer.json form here (known: "
                        + String.join(", ", ByteLevelPreTokenizers.BY_GGUF_NAME.keySet()) + ")");
            }
            ObjectNode seq = root.putObject("pre_tokenizer").put("type", "Sequence");
            ArrayNode list = seq.putArray("pretokenizers");
            ObjectNode split = list.addObject().put("type", "Split");
            split.putObject("pattern").put("Regex", regex);
            split.put("behavior", "Isolated").put("invert", false);
            byteLevel(list.addObject(), false);
        }
        byteLevel(root.putObject("post_processor"), true);
        byteLevel(root.putObject("decoder"), true);
        ObjectNode model = root.putObject("model").put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", pre.equals("llama-bpe"));
        model.set("vocab", vocab);
        ArrayNode m = model.putArray("merges");
        for (String merge : merges) {
            m.add(merge);
        }
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    }

    private static void byteLevel(ObjectNode node, boolean useRegex) {
        node.put("type", "ByteLevel")
                .put("add_prefix_space", false)
                .put("trim_offsets", false)
                .put("use_regex", useRegex);
    }

    /** Writes a GGUF file holding only {@code f}'s vocabulary and chat template ({@code tokenizer.*} metadata). */
    static void writeVocabularyOnly(GgufFile f, Path out) throws IOException {
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", f.getString("general.architecture", "llama"));
        copyVocabulary(f, w);
        w.write(out);
    }

    /** Copies the vocabulary and chat template ({@code tokenizer.*} metadata) of one GGUF into another. */
    static void copyVocabulary(GgufFile from, GgufWriter to) {
        for (GgufKv kv : from.metadata().values()) {
            if (kv.key().startsWith("tokenizer.")) {
                to.put(kv);
            }
        }
    }

    /** tokenizer_config.json text carrying a GGUF's chat template and BOS/EOS token texts, or null if it has none. */
    static String toTokenizerConfig(GgufFile f) {
        String template = f.getString("tokenizer.chat_template", null);
        if (template == null) {
            return null;
        }
        ObjectNode root = JSON.createObjectNode();
        String[] tokens = f.getStrings(P + "tokens");
        long bos = f.getLong(P + "bos_token_id", -1), eos = f.getLong(P + "eos_token_id", -1);
        if (tokens != null && bos >= 0 && bos < tokens.length) {
            root.put("bos_token", tokens[(int) bos]);
        }
        if (tokens != null && eos >= 0 && eos < tokens.length) {
            root.put("eos_token", tokens[(int) eos]);
        }
        root.put("chat_template", template);
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    }
}
