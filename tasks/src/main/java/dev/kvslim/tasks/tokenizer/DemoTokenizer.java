package dev.kvslim.tasks.tokenizer;

import dev.kvslim.core.tokenizer.HfTokenizerJson;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The demo model's vocabulary: one token per byte and three special tokens, as a Hugging Face {@code tokenizer.json}
 * and {@code tokenizer_config.json}, so the trained model is an ordinary Hugging Face folder that KVSlim, and
 * Hugging Face's own libraries, load like any other.
 *
 * <p>Token id {@code b} is byte {@code b} (spelled with GPT-2's byte-to-unicode characters, as byte-level BPE files
 * do); {@code <|bos|>} is 256, {@code <|eos|>} 257, {@code <|pad|>} 258. There are no merges: every character of the
 * ASCII task texts is exactly one token, which keeps the tasks' context lengths exact and lets a tiny model see each
 * digit on its own, and merges would save little on synthetic text. Encoding with special tokens puts BOS first.
 */
public final class DemoTokenizer {

    public static final String BOS = "<|bos|>";
    public static final String EOS = "<|eos|>";
    public static final String PAD = "<|pad|>";
    public static final int BOS_ID = 256;
    public static final int EOS_ID = 257;
    public static final int PAD_ID = 258;
    public static final int VOCAB_SIZE = 259;
    public static final String TOKENIZER_FILE = "tokenizer.json";
    public static final String CONFIG_FILE = "tokenizer_config.json";

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final List<String> SPECIALS = List.of(BOS, EOS, PAD);

    private DemoTokenizer() {}

    /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code folder}, creating it if needed. */
    public static void write(Path folder) {
        try {
            Files.createDirectories(folder);
            JSON.writerWithDefaultPrettyPrinter()
                    .writeValue(folder.resolve(TOKENIZER_FILE).toFile(), tokenizerJson());
            JSON.writerWithDefaultPrettyPrinter()
                    .writeValue(folder.resolve(CONFIG_FILE).toFile(), configJson());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the demo tokenizer to " + folder, e);
        }
    }

    /** The tokenizer as core loads it from the written files. */
    public static Tokenizer tokenizer() {
        return Loaded.TOKENIZER;
    }

    /** Loaded once, from files written to a temporary folder: what {@link #write} writes is what is used. */
    private static final class Loaded {

        static final Tokenizer TOKENIZER = load();

        private static Tokenizer load() {
            try {
                Path folder = Files.createTempDirectory("kvslim-demo-tokenizer");
                try {
                    write(folder);
                    return HfTokenizerJson.load(folder.resolve(TOKENIZER_FILE));
                } finally {
                    Files.deleteIfExists(folder.resolve(TOKENIZER_FILE));
                    Files.deleteIfExists(folder.resolve(CONFIG_FILE));
                    Files.deleteIfExists(folder);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the demo tokenizer to a temporary folder", e);
            }
        }
    }

    /** GPT-2's printable character for byte {@code b}: printable Latin-1 bytes stand for themselves. */
    static char byteChar(int b) {
        if (printable(b)) {
            return (char) b;
        }
        int unprintableBefore = 0;
        for (int x = 0; x < b; x++) {
            if (!printable(x)) {
                unprintableBefore++;
            }
        }
        return (char) (256 + unprintableBefore);
    }

    private static boolean printable(int b) {
        return b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF;
    }

    private static ObjectNode tokenizerJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SPECIALS.size(); i++) {
            added.addObject()
                    .put("id", BOS_ID + i)
                    .put("content", SPECIALS.get(i))
                    .put("single_word", false)
                    .put("lstrip", false)
                    .put("rstrip", false)
                    .put("normalized", false)
                    .put("special", true);
        }
        root.putNull("normalizer");
        root.set("pre_tokenizer", byteLevel());
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = post.putObject("special_tokens").putObject(BOS);
        bos.put("id", BOS);
        bos.putArray("ids").add(BOS_ID);
        bos.putArray("tokens").add(BOS);
        root.set("decoder", byteLevel());
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(byteChar(b)), b);
        }
        model.putArray("merges");
        return root;
    }

    private static ObjectNode byteLevel() {
        ObjectNode b = JSON.createObjectNode();
        b.put("type", "ByteLevel");
        b.put("add_prefix_space", false);
        b.put("trim_offsets", true);
        b.put("use_regex", false);
        return b;
    }

    /**
     * The chat template of the demo models: a task model has no roles, so a conversation becomes its task text, BOS and
     * then every message's content in order, which the model continues (an answer ends at its newline).
     */
    public static final String CHAT_TEMPLATE =
            "{{ bos_token }}{% for message in messages %}{{ message['content'] }}{% endfor %}";

    private static ObjectNode configJson() {
        ObjectNode config = JSON.createObjectNode();
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        config.put("bos_token", BOS);
        config.put("eos_token", EOS);
        config.put("pad_token", PAD);
        config.put("add_bos_token", true);
        config.put("add_eos_token", false);
        config.put("clean_up_tokenization_spaces", false);
        config.put("chat_template", CHAT_TEMPLATE);
        ObjectNode decoder = config.putObject("added_tokens_decoder");
        for (int i = 0; i < SPECIALS.size(); i++) {
            decoder.putObject(String.valueOf(BOS_ID + i))
                    .put("content", SPECIALS.get(i))
                    .put("lstrip", false)
                    .put("normalized", false)
                    .put("rstrip", false)
                    .put("single_word", false)
                    .put("special", true);
        }
        return config;
    }
}
