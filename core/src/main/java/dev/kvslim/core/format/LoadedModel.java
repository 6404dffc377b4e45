package dev.kvslim.core.format;

import dev.kvslim.core.model.Model;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.nio.file.Path;

/** A model and its tokenizer as read from disk, with where and in what format they came. */
public record LoadedModel(Path path, String format, Model model, Tokenizer tokenizer) {
}
