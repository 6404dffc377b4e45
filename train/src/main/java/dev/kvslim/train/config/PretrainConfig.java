package dev.kvslim.train.config;

import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.RopeStyle;
import dev.kvslim.train.loop.TrainConfig;
import dev.kvslim.train.optim.FreezePatterns;
import dev.kvslim.train.optim.LearningRateSchedule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The JSON file of {@code kvslim pretrain --config}: model shape, data, optimiser and run settings. Unknown keys
 * and wrong types are errors that name the key; paths are relative to the file's folder. Example:
 * <pre>{@code
 * {"model": {"dim": 128, "hidden": 384, "layers": 4, "heads": 4, "kv_heads": 2, "context": 1024,
 *            "rope_theta": 10000, "tied": true},
 *  "data": {"text": "corpus.txt", "tokenizer": "tokenizer.json"},
 *  (or "data": {"tasks": {"needle": 1, "vartrack": 1, "arithmetic": 1, "runsum": 1}, "prompt_weight": 0.1,
 *               "tokenizer": "demo"}),
 *  "batch": 4, "seq": 256, "steps": 2000, "lr": 1e-3, "min_lr": 1e-4, "warmup": 100, "schedule": "cosine",
 *  "weight_decay": 0.1, "clip": 1.0, "accumulation": 1, "seed": 1, "threads": 2, "checkpoint_every": 200,
 *  "out": "runs/demo"}
 * }</pre>
 * {@code model.vocab} defaults to the tokenizer's vocabulary size. {@code "init": "FOLDER"} starts from the weights
 * of a model folder (an earlier stage of a curriculum) instead of a seeded initialisation; its shape must equal
 * {@code model}'s (the context length may differ). {@code model.rope_scaling} is Llama 3.1's frequency scaling of RoPE,
 * as in a Hugging Face config: {@code {"factor": 4, "low_freq_factor": 1, "high_freq_factor": 4,
 * "original_max_position_embeddings": 1024}} stretches a model trained at 1,024 tokens to 4,096 (its long
 * wavelengths divided by the factor, its short ones kept); the model folder keeps it. The data is either a text file or the task suite
 * ({@code data.tasks}: task names with relative weights, or {@code "all"}; rows are whole samples of {@code seq + 1}
 * tokens; {@code prompt_weight} is the loss weight of prompt tokens against 1 for the target, default 1). Tokenizer
 * {@code "demo"} is KVSlim's byte-level demo vocabulary, written into the output folder.
 *
 * @param train        the run
 * @param text         training text file (null when training on tasks)
 * @param tasks        task names and weights (null when training on text)
 * @param promptWeight loss weight of prompt tokens for task rows
 * @param minContext   shortest sample packed into a task row ({@code data.min_context}; default: one sample per
 *                     row)
 * @param tokenizer    tokenizer path (any form the engine loads); for {@code "demo"}, where it will be written
 * @param demoTokenizer whether {@code tokenizer} is the demo vocabulary still to be written
 * @param threads      worker threads requested (0: leave the default)
 * @param init         model folder to start from (null: a fresh initialisation from the seed)
 */
public record PretrainConfig(
        TrainConfig train,
        Path text,
        java.util.SequencedMap<String, Double> tasks,
        float promptWeight,
        int minContext,
        Path tokenizer,
        boolean demoTokenizer,
        int threads,
        Path init) {

    /** The tokenizer value that selects the byte-level demo vocabulary. */
    public static final String DEMO_TOKENIZER = "demo";

    private static final Set<String> TOP = Set.of(
            "model",
            "data",
            "batch",
            "seq",
            "steps",
            "lr",
            "min_lr",
            "warmup",
            "schedule",
            "weight_decay",
            "beta1",
            "beta2",
            "eps",
            "clip",
            "accumulation",
            "seed",
            "threads",
            "checkpoint_every",
            "out",
            "freeze",
            "train_only",
            "init");
    private static final Set<String> MODEL = Set.of(
            "dim",
            "hidden",
            "layers",
            "heads",
            "kv_heads",
            "vocab",
            "context",
            "rope_theta",
            "tied",
            "norm_eps",
            "arch",
            "rope_style",
            "rope_scaling");
    private static final Set<String> ROPE_SCALING =
            Set.of("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings");
    private static final Set<String> DATA = Set.of("text", "tasks", "prompt_weight", "min_context", "tokenizer");

    /** Parses {@code file}; {@code vocabOfTokenizer} gives the vocabulary size when the model does not state one. */
    public static PretrainConfig read(
            Path file, java.util.function.ToIntFunction<Path> vocabOfTokenizer, Path outOverride) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("config file not found: " + file);
        }
        JsonNode root;
        try {
            root = JsonMapper.builder().build().readTree(file.toFile());
        } catch (JacksonException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + " must hold a JSON object");
        }
        Path base = file.toAbsolutePath().getParent();
        Reader r = new Reader(file);
        r.known(root, TOP, "");
        JsonNode m = r.object(root, "model");
        JsonNode d = r.object(root, "data");
        r.known(m, MODEL, "model.");
        r.known(d, DATA, "data.");
        if (d.has("text") == d.has("tasks")) {
            throw new IllegalArgumentException(file + ": \"data\" needs exactly one of \"text\" and \"tasks\"");
        }
        Path text = d.has("text") ? base.resolve(r.string(d, "text", "data.", null)) : null;
        java.util.SequencedMap<String, Double> tasks = d.has("tasks") ? r.taskWeights(d.get("tasks")) : null;
        float promptWeight = (float) r.number(d, "prompt_weight", "data.", 1.0);
        if (!(promptWeight >= 0 && promptWeight <= 1)) {
            throw new IllegalArgumentException(
                    file + ": \"data.prompt_weight\" must lie in [0, 1], is " + promptWeight);
        }
        int minContext = r.integer(d, "min_context", "data.", Integer.MAX_VALUE);
        Path init = root.has("init") ? base.resolve(r.string(root, "init", "", null)) : null;
        if (init != null && !Files.isRegularFile(init.resolve("config.json"))) {
            throw new IllegalArgumentException(file + ": \"init\" " + init + " is not a model folder (no config.json)");
        }
        Path out = outOverride != null ? outOverride : base.resolve(r.string(root, "out", "", null));
        String tokenizerName = r.string(d, "tokenizer", "data.", null);
        boolean demo = tokenizerName.equals(DEMO_TOKENIZER);
        Path tokenizer = demo ? out.resolve("tokenizer") : base.resolve(tokenizerName);
        if (text != null && !Files.exists(text)) {
            throw new IllegalArgumentException(file + ": data.text " + text + " does not exist");
        }
        if (!demo && !Files.exists(tokenizer)) {
            throw new IllegalArgumentException(file + ": data.tokenizer " + tokenizer + " does not exist");
        }
        int dim = r.integer(m, "dim", "model.", null), heads = r.integer(m, "heads", "model.", null);
        int vocab = m.has("vocab")
                ? r.integer(m, "vocab", "model.", null)
                : demo ? dev.kvslim.tasks.tokenizer.DemoTokenizer.VOCAB_SIZE : vocabOfTokenizer.applyAsInt(tokenizer);
        String arch = switch (r.string(m, "arch", "model.", "llama")) {
            case "llama" -> "LlamaForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            default -> throw new IllegalArgumentException(file + ": model.arch must be \"llama\" or \"qwen2\"");
        };
        RopeStyle style = switch (r.string(m, "rope_style", "model.", "half")) {
            case "half" -> RopeStyle.HALF;
            case "interleaved" -> RopeStyle.INTERLEAVED;
            default ->
                throw new IllegalArgumentException(file + ": model.rope_style must be \"half\" or \"interleaved\"");
        };
        try {
            LlamaConfig.RopeScaling scaling = null;
            if (m.has("rope_scaling")) {
                JsonNode rs = r.object(m, "rope_scaling");
                r.known(rs, ROPE_SCALING, "model.rope_scaling.");
                String at = "model.rope_scaling.";
                scaling = new LlamaConfig.RopeScaling(
                        (float) r.number(rs, "factor", at, null),
                        (float) r.number(rs, "low_freq_factor", at, null),
                        (float) r.number(rs, "high_freq_factor", at, null),
                        r.integer(rs, "original_max_position_embeddings", at, null));
            }
            if (heads <= 0 || dim % heads != 0) {
                throw new IllegalArgumentException("model.dim " + dim + " must be a multiple of model.heads " + heads);
            }
            LlamaConfig model = LlamaConfig.builder()
                    .architecture(arch)
                    .dim(dim)
                    .hiddenDim(r.integer(m, "hidden", "model.", null))
                    .layers(r.integer(m, "layers", "model.", null))
                    .heads(heads)
                    .kvHeads(r.integer(m, "kv_heads", "model.", heads))
                    .headSize(dim / heads)
                    .vocabSize(vocab)
                    .contextLength(r.integer(m, "context", "model.", 1024))
                    .normEps((float) r.number(m, "norm_eps", "model.", 1e-5))
                    .ropeTheta((float) r.number(m, "rope_theta", "model.", 10000.0))
                    .ropeStyle(style)
                    .ropeScaling(scaling)
                    .tiedEmbeddings(r.bool(m, "tied", "model.", true))
                    .build();
            int steps = r.integer(root, "steps", "", null);
            float lr = (float) r.number(root, "lr", "", null);
            LearningRateSchedule.Kind kind = switch (r.string(root, "schedule", "", "cosine")) {
                case "cosine" -> LearningRateSchedule.Kind.COSINE;
                case "constant" -> LearningRateSchedule.Kind.CONSTANT;
                default -> throw new IllegalArgumentException("schedule must be \"cosine\" or \"constant\"");
            };
            LearningRateSchedule schedule = new LearningRateSchedule(
                    kind, lr, r.integer(root, "warmup", "", 0), steps, (float) r.number(root, "min_lr", "", lr * 0.1d));
            TrainConfig train = new TrainConfig(
                    model,
                    r.integer(root, "batch", "", null),
                    r.integer(root, "seq", "", null),
                    steps,
                    r.integer(root, "accumulation", "", 1),
                    schedule,
                    (float) r.number(root, "beta1", "", 0.9),
                    (float) r.number(root, "beta2", "", 0.95),
                    (float) r.number(root, "eps", "", 1e-8),
                    (float) r.number(root, "weight_decay", "", 0.1),
                    (float) r.number(root, "clip", "", 1.0),
                    new FreezePatterns(r.strings(root, "freeze"), r.strings(root, "train_only")),
                    r.integer(root, "seed", "", 1),
                    out,
                    r.integer(root, "checkpoint_every", "", 0),
                    tokenizer);
            return new PretrainConfig(
                    train,
                    text,
                    tasks,
                    promptWeight,
                    minContext,
                    tokenizer,
                    demo,
                    r.integer(root, "threads", "", 0),
                    init);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** Typed field access with messages that name the field. */
    private record Reader(Path file) {
        void known(JsonNode node, Set<String> keys, String prefix) {
            for (Iterator<String> it = node.propertyNames().iterator(); it.hasNext(); ) {
                String k = it.next();
                if (!keys.contains(k)) {
                    throw new IllegalArgumentException(file + ": unknown key \"" + prefix + k + "\" (known: "
                            + String.join(", ", new java.util.TreeSet<>(keys)) + ")");
                }
            }
        }

        JsonNode object(JsonNode node, String key) {
            JsonNode v = node.get(key);
            if (v == null || !v.isObject()) {
                throw new IllegalArgumentException(file + ": \"" + key + "\" must be an object");
            }
            return v;
        }

        int integer(JsonNode node, String key, String prefix, Integer fallback) {
            JsonNode v = node.get(key);
            if (v == null && fallback != null) {
                return fallback;
            }
            if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new IllegalArgumentException(
                        file + ": \"" + prefix + key + "\" must be an integer, is " + (v == null ? "missing" : v));
            }
            return v.asInt();
        }

        double number(JsonNode node, String key, String prefix, Double fallback) {
            JsonNode v = node.get(key);
            if (v == null && fallback != null) {
                return fallback;
            }
            if (v == null || !v.isNumber()) {
                throw new IllegalArgumentException(
                        file + ": \"" + prefix + key + "\" must be a number, is " + (v == null ? "missing" : v));
            }
            return v.asDouble();
        }

        boolean bool(JsonNode node, String key, String prefix, boolean fallback) {
            JsonNode v = node.get(key);
            if (v == null) {
                return fallback;
            }
            if (!v.isBoolean()) {
                throw new IllegalArgumentException(file + ": \"" + prefix + key + "\" must be true or false, is " + v);
            }
            return v.asBoolean();
        }

        String string(JsonNode node, String key, String prefix, String fallback) {
            JsonNode v = node.get(key);
            if (v == null && fallback != null) {
                return fallback;
            }
            if (v == null || !v.isString()) {
                throw new IllegalArgumentException(
                        file + ": \"" + prefix + key + "\" must be a string, is " + (v == null ? "missing" : v));
            }
            return v.asString();
        }

        /** {@code "all"}, a list of task names (equal weights) or an object of names to weights. */
        java.util.SequencedMap<String, Double> taskWeights(JsonNode v) {
            var out = new java.util.LinkedHashMap<String, Double>();
            if (v.isString() && v.asString().equals("all")) {
                dev.kvslim.tasks.synthetic.TaskSuite.all().forEach(t -> out.put(t.name(), 1.0));
            } else if (v.isArray()) {
                for (JsonNode x : v) {
                    out.put(taskName(x.asString()), 1.0);
                }
            } else if (v.isObject()) {
                for (var e : v.properties()) {
                    if (!e.getValue().isNumber() || !(e.getValue().asDouble() >= 0)) {
                        throw new IllegalArgumentException(file + ": \"data.tasks." + e.getKey()
                                + "\" must be a non-negative number, is " + e.getValue());
                    }
                    out.put(taskName(e.getKey()), e.getValue().asDouble());
                }
            } else {
                throw new IllegalArgumentException(file + ": \"data.tasks\" must be \"all\", a list of task names or"
                        + " an object of task weights, is " + v);
            }
            if (out.isEmpty() || out.values().stream().allMatch(w -> w == 0)) {
                throw new IllegalArgumentException(file + ": \"data.tasks\" names no task with a positive weight");
            }
            return out;
        }

        private String taskName(String name) {
            try {
                return dev.kvslim.tasks.synthetic.TaskSuite.named(name).name();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": \"data.tasks\": " + e.getMessage(), e);
            }
        }

        List<String> strings(JsonNode node, String key) {
            JsonNode v = node.get(key);
            List<String> out = new ArrayList<>();
            if (v == null) {
                return out;
            }
            if (!v.isArray()) {
                throw new IllegalArgumentException(file + ": \"" + key + "\" must be a list of name patterns");
            }
            for (JsonNode x : v) {
                out.add(x.asString());
            }
            return out;
        }
    }
}
