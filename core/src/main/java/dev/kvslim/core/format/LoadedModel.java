package dev.kvslim.core.format;

import dev.kvslim.core.chat.ChatTemplate;
import dev.kvslim.core.format.hf.GenerationConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.nio.file.Path;

/**
 * A model and its tokenizer as read from disk, with where and in what format they came, the generation defaults
 * the files carry ({@link GenerationConfig#NONE} when they carry none) and the chat template (null when none).
 */
public record LoadedModel(
        Path path,
        String format,
        Model model,
        Tokenizer tokenizer,
        GenerationConfig generation,
        ChatTemplate chatTemplate) {

    /** Whether generating {@code id} ends the text: the tokenizer's end tokens and the generation config's. */
    public boolean isEndOfGeneration(int id) {
        return tokenizer.isEndOfGeneration(id) || generation.eosTokenIds().contains(id);
    }
}
