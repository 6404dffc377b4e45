package dev.kvslim.train.checkpoint;

import dev.kvslim.core.format.safetensors.SafetensorsFile;
import dev.kvslim.core.format.safetensors.SafetensorsWriter;
import dev.kvslim.core.io.AtomicFiles;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.LittleEndian;
import dev.kvslim.core.tensor.Tensors;
import dev.kvslim.train.model.Parameter;
import dev.kvslim.train.model.TrainWeights;
import dev.kvslim.train.optim.AdamW;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A training checkpoint in {@code OUT/checkpoint}: {@code model/} (the Hugging Face folder the engine loads, with
 * the run's tokenizer files), {@code train_state.safetensors} (F32 master weights in the trainer's own layout and
 * AdamW's two moments) and {@code state.json} (step, optimiser step, data-source and RNG state).
 * <p>Written atomically: everything goes into a fresh {@code checkpoint.partial-*} folder; only when that is
 * complete is the previous checkpoint renamed to {@code checkpoint.old}, the new one renamed into place, and the
 * old one deleted. A kill at any moment leaves either {@code checkpoint} or {@code checkpoint.old} complete, and
 * {@link #locate} finds it.
 */
public final class Checkpoint {

    /** The run state besides tensors. */
    public record State(int step, long optimizerStep, long tokens, long rngState, long[] dataState) {}

    public static final String NAME = "checkpoint";
    private static final String OLD = "checkpoint.old";
    private static final String STATE = "state.json";
    private static final String TENSORS = "train_state.safetensors";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private Checkpoint() {}

    /** Writes a checkpoint of {@code w}, {@code opt} and {@code state} into {@code outDir}, replacing the previous one. */
    public static Path save(Path outDir, TrainWeights w, AdamW opt, State state, Path tokenizer, long bos, long eos)
            throws IOException {
        Files.createDirectories(outDir);
        Path tmp = AtomicFiles.partialDirectory(outDir.resolve(NAME));
        try {
            Path model = tmp.resolve("model");
            Files.createDirectories(model);
            HfModelFiles.write(w, model, bos, eos);
            copyTokenizer(tokenizer, model);
            writeTensors(tmp.resolve(TENSORS), w, opt);
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("step", state.step());
            json.put("optimizer_step", state.optimizerStep());
            json.put("tokens", state.tokens());
            json.put("rng_state", Long.toString(state.rngState()));
            List<String> data = new ArrayList<>();
            for (long v : state.dataState()) {
                data.add(Long.toString(v));
            }
            json.put("data_state", data);
            json.put("parameters", w.parameters().stream().map(Parameter::name).toList());
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve(STATE).toFile(), json);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
        Path current = outDir.resolve(NAME), old = outDir.resolve(OLD);
        if (Files.exists(current)) {
            deleteTree(old);
            Files.move(current, old, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(tmp, current, StandardCopyOption.ATOMIC_MOVE);
        deleteTree(old);
        return current;
    }

    /** The newest complete checkpoint in {@code outDir}, or null if there is none. */
    public static Path locate(Path outDir) {
        for (String name : new String[] {NAME, OLD}) {
            Path p = outDir.resolve(name);
            if (Files.isRegularFile(p.resolve(STATE)) && Files.isRegularFile(p.resolve(TENSORS))) {
                return p;
            }
        }
        return null;
    }

    /** Loads weights and optimiser state from checkpoint folder {@code dir} into {@code w} and {@code opt}. */
    public static State load(Path dir, TrainWeights w, AdamW opt) {
        JsonNode json;
        try {
            json = JSON.readTree(dir.resolve(STATE).toFile());
        } catch (RuntimeException e) {
            throw corrupt(dir, "state.json cannot be read: " + e.getMessage());
        }
        try {
            SafetensorsFile f = SafetensorsFile.read(dir.resolve(TENSORS));
            for (Parameter p : w.parameters()) {
                int i = w.parameters().indexOf(p);
                read(f, "param." + p.name(), p.data(), dir);
                read(f, "adam_m." + p.name(), opt.firstMoments()[i], dir);
                read(f, "adam_v." + p.name(), opt.secondMoments()[i], dir);
            }
            JsonNode data = json.required("data_state");
            long[] dataState = new long[data.size()];
            for (int i = 0; i < dataState.length; i++) {
                dataState[i] = Long.parseLong(data.get(i).asString());
            }
            State s = new State(
                    json.required("step").asInt(),
                    json.required("optimizer_step").asLong(),
                    json.required("tokens").asLong(),
                    Long.parseLong(json.required("rng_state").asString()),
                    dataState);
            opt.setStepCount(s.optimizerStep());
            return s;
        } catch (IllegalArgumentException | IllegalStateException | UncheckedIOException e) {
            throw corrupt(dir, e.getMessage());
        } catch (RuntimeException e) {
            throw corrupt(dir, e.toString());
        }
    }

    private static void read(SafetensorsFile f, String name, float[] into, Path dir) {
        SafetensorsFile.Entry e = f.entries().get(name);
        if (e == null) {
            throw corrupt(dir, "it has no tensor " + name + " (a checkpoint of another model shape?)");
        }
        if (e.elements() != into.length) {
            throw corrupt(dir, name + " has " + e.elements() + " values, the model needs " + into.length);
        }
        float[] v = Tensors.toArray(f.tensor(name));
        System.arraycopy(v, 0, into, 0, into.length);
    }

    private static IllegalArgumentException corrupt(Path dir, String why) {
        return new IllegalArgumentException("cannot resume from checkpoint " + dir + ": " + why);
    }

    private static void writeTensors(Path file, TrainWeights w, AdamW opt) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter s = new SafetensorsWriter();
            List<Parameter> params = w.parameters();
            for (int i = 0; i < params.size(); i++) {
                Parameter p = params.get(i);
                add(s, arena, "param." + p.name(), p.data());
                add(s, arena, "adam_m." + p.name(), opt.firstMoments()[i]);
                add(s, arena, "adam_v." + p.name(), opt.secondMoments()[i]);
            }
            s.write(file);
        }
    }

    private static void add(SafetensorsWriter s, Arena arena, String name, float[] v) {
        MemorySegment seg = arena.allocate((long) v.length * Float.BYTES);
        MemorySegment.copy(v, 0, seg, LittleEndian.F32, 0, v.length);
        s.add(name, GgmlType.F32, new long[] {v.length}, seg);
    }

    /**
     * Copies the tokenizer files the engine looks for next to a model: tokenizer.json (+ tokenizer_config.json) of
     * a Hugging Face tokenizer or folder, a .gguf vocabulary as tokenizer.gguf; any other file (llama2.c's
     * tokenizer.bin) is copied under its own name, to be passed with --tokenizer.
     */
    public static void copyTokenizer(Path tokenizer, Path modelDir) throws IOException {
        if (tokenizer == null) {
            return;
        }
        if (Files.isDirectory(tokenizer)) {
            for (String name : new String[] {"tokenizer.json", "tokenizer_config.json", "tokenizer.gguf"}) {
                if (Files.exists(tokenizer.resolve(name))) {
                    Files.copy(tokenizer.resolve(name), modelDir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            return;
        }
        String name = tokenizer.getFileName().toString();
        if (name.endsWith(".json")) {
            Files.copy(tokenizer, modelDir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
            Path config = tokenizer.resolveSibling("tokenizer_config.json");
            if (Files.exists(config)) {
                Files.copy(config, modelDir.resolve("tokenizer_config.json"), StandardCopyOption.REPLACE_EXISTING);
            }
        } else if (name.endsWith(".gguf")) {
            Files.copy(tokenizer, modelDir.resolve("tokenizer.gguf"), StandardCopyOption.REPLACE_EXISTING);
        } else {
            Files.copy(tokenizer, modelDir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Deletes {@code dir} and everything in it, if it exists. */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
