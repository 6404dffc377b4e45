package dev.kvslim.core.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Reads the JSON files of model folders; a missing, unreadable or malformed file is a {@link ModelFormatException}. */
public final class JsonFiles {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private JsonFiles() {}

    /** The JSON value in {@code file}. */
    public static JsonNode read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "no such file", e);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot be read: " + e.getMessage(), e);
        }
        try {
            return JSON.readTree(text);
        } catch (JacksonException e) {
            throw new ModelFormatException(file, "not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** The JSON object in {@code file}; any other value is an error. */
    public static JsonNode readObject(Path file) {
        JsonNode node = read(file);
        if (node == null || !node.isObject()) {
            throw new ModelFormatException(file, "not a JSON object");
        }
        return node;
    }
}
