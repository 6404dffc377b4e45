package dev.kvslim.core.format.hf;

import dev.kvslim.core.format.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Reads the JSON files of a Hugging Face model folder; a missing or malformed file is a {@link ModelFormatException}. */
final class HfJson {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private HfJson() {
    }

    static JsonNode read(Path file) {
        try {
            JsonNode node = JSON.readTree(Files.readString(file));
            if (node == null || !node.isObject()) {
                throw new ModelFormatException(file, "is not a JSON object");
            }
            return node;
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "no such file");
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot be read: " + e.getMessage(), e);
        } catch (JacksonException e) {
            throw new ModelFormatException(file, "is not valid JSON: " + e.getOriginalMessage());
        }
    }
}
