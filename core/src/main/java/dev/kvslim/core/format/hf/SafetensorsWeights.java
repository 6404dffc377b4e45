package dev.kvslim.core.format.hf;

import dev.kvslim.core.format.safetensors.SafetensorsFile;
import dev.kvslim.core.io.JsonFiles;
import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.tensor.FloatTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import tools.jackson.databind.JsonNode;

/**
 * The tensors of a model folder: {@code model.safetensors}, or the shards named by
 * {@code model.safetensors.index.json}. Each tensor is looked up by its Hugging Face name.
 */
final class SafetensorsWeights {

    private final Path folder;
    private final Map<String, SafetensorsFile> byTensor;

    private SafetensorsWeights(Path folder, Map<String, SafetensorsFile> byTensor) {
        this.folder = folder;
        this.byTensor = byTensor;
    }

    static SafetensorsWeights open(Path folder) {
        Path index = folder.resolve("model.safetensors.index.json");
        Path single = folder.resolve("model.safetensors");
        Map<String, SafetensorsFile> byTensor = new HashMap<>();
        if (Files.exists(index)) {
            JsonNode map = JsonFiles.readObject(index).get("weight_map");
            if (map == null || !map.isObject()) {
                throw new ModelFormatException(index, "has no weight_map object");
            }
            Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : map.properties()) {
                String shardName = e.getValue().asString();
                Path shard = folder.resolve(shardName).normalize();
                if (!shard.getParent().equals(folder.normalize())) {
                    throw new ModelFormatException(index, "shard '" + shardName + "' lies outside the model folder");
                }
                if (!Files.exists(shard)) {
                    throw new ModelFormatException(
                            index,
                            "names shard '" + shardName + "' for tensor '" + e.getKey() + "', which does not exist");
                }
                SafetensorsFile file = shards.computeIfAbsent(shardName, n -> SafetensorsFile.read(shard));
                if (!file.entries().containsKey(e.getKey())) {
                    throw new ModelFormatException(
                            shard, "lacks tensor '" + e.getKey() + "' that the index places there");
                }
                byTensor.put(e.getKey(), file);
            }
        } else if (Files.exists(single)) {
            SafetensorsFile file = SafetensorsFile.read(single);
            for (String name : file.entries().keySet()) {
                byTensor.put(name, file);
            }
        } else {
            throw new ModelFormatException(folder, "has neither model.safetensors nor model.safetensors.index.json");
        }
        return new SafetensorsWeights(folder, Collections.unmodifiableMap(byTensor));
    }

    boolean has(String name) {
        return byTensor.containsKey(name);
    }

    Set<String> names() {
        return byTensor.keySet();
    }

    FloatTensor tensor(String name) {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) {
            throw new ModelFormatException(folder, "missing tensor '" + name + "'");
        }
        return f.tensor(name);
    }

    /** Fails naming every tensor in {@code required} that the folder lacks. */
    void requireAll(List<String> required) {
        List<String> missing = new ArrayList<>();
        for (String r : required) {
            if (!byTensor.containsKey(r)) {
                missing.add(r);
            }
        }
        if (!missing.isEmpty()) {
            Set<String> shown = new TreeSet<>(missing.subList(0, Math.min(10, missing.size())));
            throw new ModelFormatException(
                    folder,
                    "missing " + missing.size() + " tensor(s): " + String.join(", ", shown)
                            + (missing.size() > 10 ? ", ..." : ""));
        }
    }
}
