package dev.kvslim.core.format;

import dev.kvslim.core.chat.ChatTemplate;
import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufModels;
import dev.kvslim.core.format.hf.GenerationConfig;
import dev.kvslim.core.format.hf.HuggingFaceModels;
import dev.kvslim.core.format.llama2c.Llama2cCheckpoint;
import dev.kvslim.core.io.MappedFile;
import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tokenizer.GgufTokenizers;
import dev.kvslim.core.tokenizer.HfTokenizerJson;
import dev.kvslim.core.tokenizer.Llama2cTokenizer;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens a model by what it contains, not by its name: a Hugging Face folder (config.json, safetensors and
 * tokenizer.json, or the tokenizer.gguf that KVSlim's converter writes for SentencePiece vocabularies), a GGUF
 * file (model and tokenizer in one), or a llama2.c checkpoint (whose tokenizer.bin is separate).
 */
public final class ModelLoader {

    private ModelLoader() {}

    /**
     * A model read without its tokenizer, and the format it was read from ({@link #loadModel}); {@link #withTokenizer}
     * completes it into a {@link LoadedModel} without reading the weights again.
     */
    public static final class ModelFile {
        private final Path path;
        private final String format;
        private final Model model;
        private final GgufFile gguf; // the parsed header of a GGUF, whose vocabulary and chat template come later

        private ModelFile(Path path, String format, Model model, GgufFile gguf) {
            this.path = path;
            this.format = format;
            this.model = model;
            this.gguf = gguf;
        }

        public Path path() {
            return path;
        }

        public String format() {
            return format;
        }

        public Model model() {
            return model;
        }
    }

    /** Loads the model of {@code modelPath} alone, whether or not a tokenizer can be found for it (for inspect). */
    public static ModelFile loadModel(Path modelPath) {
        if (Files.isDirectory(modelPath)) {
            if (!HuggingFaceModels.isModelFolder(modelPath)) {
                throw new ModelFormatException(
                        modelPath,
                        "is a folder without config.json; expected a Hugging Face model"
                                + " folder, a .gguf file or a llama2.c checkpoint");
            }
            Model model = HuggingFaceModels.load(modelPath);
            return new ModelFile(modelPath, "hugging face (" + model.config().architecture() + ")", model, null);
        }
        MemorySegment data = MappedFile.map(modelPath);
        if (GgufFile.hasMagic(data)) {
            GgufFile gguf = GgufFile.read(modelPath, data);
            return new ModelFile(modelPath, "gguf v" + gguf.version(), GgufModels.load(gguf), gguf);
        }
        String format = Llama2cCheckpoint.hasMagic(data) ? "llama2.c (ak42)" : "llama2.c (legacy)";
        return new ModelFile(modelPath, format, Llama2cCheckpoint.load(modelPath, data), null);
    }

    /**
     * Loads {@code modelPath}. {@code tokenizerPath} overrides the GGUF's own vocabulary and is required for
     * llama2.c checkpoints unless a {@code tokenizer.bin} sits beside the checkpoint; it may be null.
     */
    public static LoadedModel load(Path modelPath, Path tokenizerPath) {
        return withTokenizer(loadModel(modelPath), tokenizerPath);
    }

    /**
     * {@code file}'s model with its tokenizer ({@code tokenizerPath}, or the model's own as {@link #load} finds it),
     * chat template and generation settings.
     */
    public static LoadedModel withTokenizer(ModelFile file, Path tokenizerPath) {
        Path path = file.path;
        Model model = file.model;
        if (file.gguf != null) {
            Tokenizer tokenizer = tokenizerPath != null ? loadTokenizer(tokenizerPath) : GgufTokenizers.load(file.gguf);
            return checked(new LoadedModel(
                    path,
                    file.format,
                    model,
                    tokenizer,
                    GenerationConfig.NONE,
                    ggufChatTemplate(file.gguf, tokenizer)));
        }
        if (Files.isDirectory(path)) {
            Tokenizer tokenizer;
            if (tokenizerPath != null) {
                tokenizer = loadTokenizer(tokenizerPath);
            } else if (Files.exists(path.resolve("tokenizer.json"))) {
                tokenizer = HfTokenizerJson.load(path.resolve("tokenizer.json"));
            } else if (Files.exists(path.resolve("tokenizer.gguf"))) {
                tokenizer = loadTokenizer(path.resolve("tokenizer.gguf"));
            } else {
                throw new ModelFormatException(path, "has no tokenizer.json or tokenizer.gguf; pass --tokenizer");
            }
            Path tokenizerConfig = path.resolve("tokenizer_config.json");
            ChatTemplate template = hasChatTemplate(tokenizerConfig) ? ChatTemplate.load(tokenizerConfig) : null;
            return checked(new LoadedModel(path, file.format, model, tokenizer, GenerationConfig.read(path), template));
        }
        Path tok = tokenizerPath;
        if (tok == null) {
            Path beside = path.toAbsolutePath().resolveSibling("tokenizer.bin");
            if (!Files.exists(beside)) {
                throw new ModelFormatException(
                        path,
                        "a llama2.c checkpoint carries no vocabulary: pass its"
                                + " tokenizer.bin with --tokenizer (none found at " + beside + ")");
            }
            tok = beside;
        }
        Tokenizer tokenizer = GgufFile.hasMagic(MappedFile.map(tok))
                ? loadTokenizer(tok)
                : Llama2cTokenizer.load(tok, model.config().vocabSize()); // as run.c: exactly the model's vocabulary
        return checked(new LoadedModel(path, file.format, model, tokenizer, GenerationConfig.NONE, null));
    }

    private static boolean hasChatTemplate(Path tokenizerConfig) {
        try {
            return Files.exists(tokenizerConfig)
                    && Files.readString(tokenizerConfig).contains("\"chat_template\"");
        } catch (java.io.IOException e) {
            throw new ModelFormatException(tokenizerConfig, "cannot be read: " + e.getMessage(), e);
        }
    }

    /** The chat template a GGUF carries in {@code tokenizer.chat_template}, or null. */
    private static ChatTemplate ggufChatTemplate(GgufFile gguf, Tokenizer tokenizer) {
        String template = gguf.getString("tokenizer.chat_template", null);
        if (template == null) {
            return null;
        }
        String bos = tokenizer.bosId() >= 0 ? tokenizer.piece(tokenizer.bosId()) : null;
        String eos = tokenizer.eosId() >= 0 ? tokenizer.piece(tokenizer.eosId()) : null;
        return ChatTemplate.of(gguf.path() + " (tokenizer.chat_template)", template, bos, eos);
    }

    /**
     * A tokenizer from a Hugging Face tokenizer.json, a model folder holding one (or a tokenizer.gguf), llama2.c's
     * tokenizer.bin, or the vocabulary of any GGUF file.
     */
    public static Tokenizer loadTokenizer(Path path) {
        if (Files.isDirectory(path)) {
            for (String name : new String[] {"tokenizer.json", "tokenizer.gguf"}) {
                if (Files.exists(path.resolve(name))) {
                    return loadTokenizer(path.resolve(name));
                }
            }
            throw new ModelFormatException(path, "is a folder without tokenizer.json or tokenizer.gguf");
        }
        if (path.getFileName().toString().endsWith(".json")) {
            return HfTokenizerJson.load(path);
        }
        MemorySegment data = MappedFile.map(path);
        if (GgufFile.hasMagic(data)) {
            return GgufTokenizers.load(GgufFile.read(path, data));
        }
        return Llama2cTokenizer.load(path);
    }

    private static LoadedModel checked(LoadedModel m) {
        int modelVocab = m.model().config().vocabSize();
        if (m.tokenizer().vocabSize() > modelVocab) {
            throw new ModelFormatException(
                    m.path(),
                    "the tokenizer has " + m.tokenizer().vocabSize() + " tokens but the model only " + modelVocab
                            + ": they do not belong together");
        }
        return m;
    }
}
