package dev.kvslim.core.format.hf;

import dev.kvslim.core.io.JsonFiles;
import dev.kvslim.core.io.ModelFormatException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * What a model folder's {@code generation_config.json} asks of generation: the end-of-sequence ids (one or a
 * list) and default sampling settings. Absent fields are null; a folder without the file gives {@link #NONE}.
 */
public record GenerationConfig(
        List<Integer> eosTokenIds, Float temperature, Float topP, Integer topK, Float minP, Boolean doSample) {

    public static final GenerationConfig NONE = new GenerationConfig(List.of(), null, null, null, null, null);

    public GenerationConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    public static GenerationConfig read(Path folder) {
        Path file = folder.resolve("generation_config.json");
        if (!Files.exists(file)) {
            return NONE;
        }
        JsonNode json = JsonFiles.readObject(file);
        List<Integer> eos = new ArrayList<>();
        JsonNode e = json.get("eos_token_id");
        if (e != null && e.isArray()) {
            e.forEach(id -> eos.add(id(file, id)));
        } else if (e != null && !e.isNull()) {
            eos.add(id(file, e));
        }
        return new GenerationConfig(
                eos,
                number(json, "temperature"),
                number(json, "top_p"),
                json.has("top_k") && json.get("top_k").canConvertToInt()
                        ? json.get("top_k").asInt()
                        : null,
                number(json, "min_p"),
                json.has("do_sample") ? json.get("do_sample").asBoolean() : null);
    }

    private static int id(Path file, JsonNode node) {
        if (!node.canConvertToInt() || node.asInt() < 0) {
            throw new ModelFormatException(file, "eos_token_id " + node + " is not a token id");
        }
        return node.asInt();
    }

    private static Float number(JsonNode json, String key) {
        JsonNode v = json.get(key);
        return v != null && v.isNumber() ? (float) v.asDouble() : null;
    }
}
