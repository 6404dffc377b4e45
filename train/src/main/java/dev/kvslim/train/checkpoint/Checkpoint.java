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
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A training checkpoint in {@code OUT/checkpoint}: {@code model/} (the Hugging Face folder the engine loads, with
 * the run's tokenizer files), {@code train_state.safetensors} (F32 master weights in the trainer's own layout and
 * AdamW's two moments) and {@code state.json} (step, optimiser step, data-source and RNG state, and the SHA-256 of
 * every other file of the checkpoint, which {@link #load} checks: a file changed after it was written is refused, not
 * resumed from with other numbers).
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
            json.put("files", checksums(tmp));
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
        State s = state(dir, json);
        verify(dir, json);
        try {
            SafetensorsFile f = SafetensorsFile.read(dir.resolve(TENSORS));
            for (Parameter p : w.parameters()) {
                int i = w.parameters().indexOf(p);
                read(f, "param." + p.name(), p.data(), dir);
                read(f, "adam_m." + p.name(), opt.firstMoments()[i], dir);
                read(f, "adam_v." + p.name(), opt.secondMoments()[i], dir);
            }
            opt.setStepCount(s.optimizerStep());
            return s;
        } catch (IllegalArgumentException | IllegalStateException | UncheckedIOException e) {
            throw corrupt(dir, e.getMessage());
        } catch (RuntimeException e) {
            throw corrupt(dir, e.toString());
        }
    }

    /** The run state of {@code state.json}, every field checked: a bad one is named with the file. */
    private static State state(Path dir, JsonNode json) {
        long step = count(dir, json, "step", Integer.MAX_VALUE);
        long optimizerStep = count(dir, json, "optimizer_step", Long.MAX_VALUE);
        long tokens = count(dir, json, "tokens", Long.MAX_VALUE);
        JsonNode data = json.get("data_state");
        if (data == null || !data.isArray()) {
            throw corrupt(dir, "state.json has no data_state list");
        }
        long[] dataState = new long[data.size()];
        for (int i = 0; i < dataState.length; i++) {
            dataState[i] = number(dir, data.get(i), "data_state[" + i + "]");
        }
        return new State((int) step, optimizerStep, tokens, number(dir, json.get("rng_state"), "rng_state"), dataState);
    }

    private static long count(Path dir, JsonNode json, String field, long max) {
        JsonNode v = json.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0 || v.asLong() > max) {
            throw corrupt(dir, "state.json's " + field + " must be a whole number from 0 to " + max + ", got " + v);
        }
        return v.asLong();
    }

    /** A 64-bit value, written as a decimal string (JSON numbers lose precision past 2^53 in other readers). */
    private static long number(Path dir, JsonNode v, String field) {
        try {
            if (v != null && v.isString()) {
                return Long.parseLong(v.asString());
            }
        } catch (NumberFormatException e) {
            // named below
        }
        throw corrupt(dir, "state.json's " + field + " must be a 64-bit integer as a string, got " + v);
    }

    /** The SHA-256 of every file under {@code root} but state.json, by path relative to it. */
    private static Map<String, String> checksums(Path root) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.filter(Files::isRegularFile).sorted().toList()) {
                String name = root.relativize(p).toString().replace('\\', '/');
                if (!name.equals(STATE)) {
                    out.put(name, sha256(p));
                }
            }
        }
        return out;
    }

    /**
     * Checks every file state.json lists against its SHA-256. A checkpoint written before checksums were (no
     * {@code files} in state.json) is taken as it is.
     */
    private static void verify(Path dir, JsonNode json) {
        JsonNode files = json.get("files");
        if (files == null) {
            return;
        }
        if (!files.isObject()) {
            throw corrupt(dir, "state.json's files must map file names to SHA-256 digests");
        }
        for (String name : files.propertyNames()) {
            Path file = dir.resolve(name).normalize();
            if (!file.startsWith(dir.normalize()) || !Files.isRegularFile(file)) {
                throw corrupt(dir, "its file " + name + " (listed in state.json) is missing");
            }
            try {
                if (!sha256(file).equals(files.get(name).asString())) {
                    throw corrupt(
                            dir,
                            name + " does not match the SHA-256 state.json gives for it: the file changed"
                                    + " after the checkpoint was written");
                }
            } catch (IOException e) {
                throw corrupt(dir, name + " cannot be read: " + e.getMessage());
            }
        }
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
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
