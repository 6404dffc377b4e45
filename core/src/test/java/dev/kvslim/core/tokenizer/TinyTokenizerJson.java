package dev.kvslim.core.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A small Hugging Face {@code tokenizer.json} of a byte-level BPE, built in memory for tests to change and write out:
 * the 256 byte tokens, merges that spell "hello" and " world", {@code <s>} (special, id 256 + merges) and
 * {@code <extra>} (not special, the next id), Llama 3's Split regex and ByteLevel, a TemplateProcessing that puts
 * {@code <s>} first, and the ByteLevel decoder.
 */
final class TinyTokenizerJson {

    static final JsonMapper JSON = JsonMapper.builder().build();
    static final String LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String[] MERGES = {"h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld"};

    private TinyTokenizerJson() {}

    /** GPT-2's printable character for each byte. */
    static char byteChar(int b) {
        if (b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE) {
            return (char) b;
        }
        int unprintable = 0;
        for (int x = 0; x < b; x++) {
            if (!(x >= '!' && x <= '~' || x >= 0xA1 && x <= 0xAC || x >= 0xAE)) {
                unprintable++;
            }
        }
        return (char) (256 + unprintable);
    }

    /** The whole file as a tree to change. */
    static ObjectNode tree() {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(byteChar(b)), b);
        }
        ArrayNode merges = model.putArray("merges");
        for (String merge : MERGES) {
            merges.add(merge);
            vocab.put(merge.replace(" ", ""), vocab.size());
        }
        int n = vocab.size();
        ArrayNode added = root.putArray("added_tokens");
        added.add(addedToken(n, "<s>", true));
        added.add(addedToken(n + 1, "<extra>", false));
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        ObjectNode split = steps.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", LLAMA3_REGEX);
        split.put("behavior", "Isolated");
        split.put("invert", false);
        steps.add(byteLevel(false, false));
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        post.putArray("single")
                .addObject()
                .putObject("SpecialToken")
                .put("id", "<s>")
                .put("type_id", 0);
        ((ArrayNode) post.get("single"))
                .addObject()
                .putObject("Sequence")
                .put("id", "A")
                .put("type_id", 0);
        post.putArray("pair");
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(n);
        bos.putArray("tokens").add("<s>");
        root.set("decoder", byteLevel(true, true));
        return root;
    }

    static ObjectNode addedToken(int id, String content, boolean special) {
        ObjectNode t = JSON.createObjectNode();
        t.put("id", id);
        t.put("content", content);
        t.put("single_word", false);
        t.put("lstrip", false);
        t.put("rstrip", false);
        t.put("normalized", !special);
        t.put("special", special);
        return t;
    }

    static ObjectNode byteLevel(boolean addPrefixSpace, boolean useRegex) {
        ObjectNode b = JSON.createObjectNode();
        b.put("type", "ByteLevel");
        b.put("add_prefix_space", addPrefixSpace);
        b.put("trim_offsets", true);
        b.put("use_regex", useRegex);
        return b;
    }

    /** Writes {@code tree} as {@code dir/name} and returns the file. */
    static Path write(Path dir, String name, ObjectNode tree) {
        try {
            return Files.writeString(dir.resolve(name), JSON.writeValueAsString(tree));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
