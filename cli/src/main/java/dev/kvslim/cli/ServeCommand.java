package dev.kvslim.cli;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.serve.KvSlimServer;
import dev.kvslim.serve.ServeConfig;
import dev.kvslim.serve.api.ServedModel;
import dev.kvslim.serve.metrics.ServerMetrics;
import dev.kvslim.serve.schedule.Scheduler;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The OpenAI-compatible server: loads the models, starts {@link KvSlimServer}, and serves until the process is told
 * to stop (Ctrl-C or SIGTERM), which shuts down gracefully.
 */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = "Serve models over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions,"
                + " /v1/models) with continuous batching in a fixed KV memory budget; /metrics for Prometheus.")
final class ServeCommand implements Callable<Integer> {

    /** Where the bundled demo models live (one folder each), relative to the working directory. */
    static final Path BUNDLED_MODELS = Path.of("models");

    @Option(
            names = "--model",
            description = "A model to serve (repeatable): a Hugging Face folder, a GGUF file, or a"
                    + " llama2.c checkpoint. Requests name it by its file or folder name without extension."
                    + " Default: every model folder in models/ (the bundled demo model and its DMS retrofits).")
    List<Path> models = new ArrayList<>();

    @Option(
            names = "--tokenizer",
            description = "Tokenizer of the model given at the same position (repeatable),"
                    + " for llama2.c checkpoints without a tokenizer.bin beside them.")
    List<Path> tokenizers = new ArrayList<>();

    @Option(names = "--host", description = "Address to listen on (default: 127.0.0.1, or the config file's).")
    String host;

    @Option(
            names = "--port",
            description = "Port to listen on; 0 picks a free one (default: 8080, or the config file's).")
    Integer port;

    @Option(
            names = "--kv-budget",
            converter = ByteSize.class,
            description = "Bytes of keys and values all sequences may"
                    + " hold together (e.g. 2GiB), split evenly"
                    + " between the models (default: a quarter of the heap, or the config file's).")
    Long kvBudget;

    @Option(
            names = "--kv-type",
            description = "Element type of cached keys and values: f32; f16 / bf16 (half the"
                    + " bytes, twice the tokens in the same budget); q8_0 / q4_0 (groups of 32 channels with a"
                    + " half-float scale, as llama.cpp's -ctk/-ctv: 3.8x / 7.1x fewer bytes than f32). Default: f32,"
                    + " or the config file's kv_type.")
    String kvType;

    @Mixin
    RenamedKvFlags renamed;

    @Option(
            names = "--metrics-names",
            description = "Names of the gauges load balancers read (running, waiting, KV usage, cache config):"
                    + " kvslim, vllm (as vLLM's, for the Gateway API Inference Extension and llm-d) or both"
                    + " (default: both, or the config file's metrics_names).")
    String metricsNames;

    @Option(
            names = "--config",
            description =
                    "JSON settings: host, port, kv_budget_bytes, kv_type, metrics_public, metrics_names, prefix_caching,"
                            + " cors_allowed_origins, tokens_per_step, max_running,"
                            + " max_waiting, max_body_bytes, shutdown_grace_seconds, api_keys {name: key}. API keys may also come from"
                            + " KVSLIM_API_KEYS (name=key,...).")
    Path config;

    /** The configuration: defaults, then the config file, then the options. */
    ServeConfig configuration() {
        ServeConfig c = ServeConfig.defaults();
        if (config != null) {
            c = c.withFile(config);
        }
        if (host != null) {
            c = c.withHost(host);
        }
        if (port != null) {
            c = c.withPort(port);
        }
        if (kvType != null) {
            c = c.withKvType(KvType.parse(kvType));
        }
        if (kvBudget != null) {
            c = c.withKvBudget(kvBudget);
        }
        if (metricsNames != null) {
            try {
                c = c.withMetricsNames(ServerMetrics.Names.parse(metricsNames));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--metrics-names: " + e.getMessage(), e);
            }
        }
        return c;
    }

    /** The models to serve by name. */
    Map<String, LoadedModel> load() {
        List<Path> paths = models;
        if (paths.isEmpty()) {
            if (!Files.isDirectory(BUNDLED_MODELS)) {
                throw new IllegalArgumentException("no --model given, and no bundled demo models here ("
                        + BUNDLED_MODELS.toAbsolutePath() + " does not exist; they live in the repository's models/"
                        + " folder): pass --model PATH, or run serve from the repository");
            }
            paths = bundledModels();
        }
        if (tokenizers.size() > paths.size()) {
            throw new IllegalArgumentException("more --tokenizer (" + tokenizers.size() + ") than --model ("
                    + paths.size() + ") options: each tokenizer belongs to the model at its position");
        }
        Map<String, LoadedModel> loaded = new LinkedHashMap<>();
        for (int i = 0; i < paths.size(); i++) {
            Path tokenizer = i < tokenizers.size() ? tokenizers.get(i) : null;
            String name = KvSlimServer.modelName(paths.get(i));
            if (loaded.put(name, ModelLoader.load(paths.get(i), tokenizer)) != null) {
                throw new IllegalArgumentException("two models would both be served as '" + name + "'");
            }
        }
        return loaded;
    }

    /** The model folders (those with a config.json) in {@link #BUNDLED_MODELS}, by name. */
    static List<Path> bundledModels() {
        try (var folders = Files.list(BUNDLED_MODELS)) {
            List<Path> found = folders.filter(f -> Files.isRegularFile(f.resolve("config.json")))
                    .sorted()
                    .toList();
            if (found.isEmpty()) {
                throw new IllegalArgumentException("no --model given, and " + BUNDLED_MODELS.toAbsolutePath()
                        + " holds no model folder: pass --model PATH");
            }
            return found;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot list " + BUNDLED_MODELS.toAbsolutePath(), e);
        }
    }

    /** Prompt tokens and decode steps of the made-up sequence {@link Scheduler#warmUp} runs. */
    static final int WARM_UP_TOKENS = 16;

    @Option(
            names = "--warm-up",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description = "Run a made-up sequence through each model before listening, so the JIT has compiled"
                    + " the forward pass before the first request (default: on; --no-warm-up starts at once).")
    boolean warmUp;

    /** Loads the models, runs each through a made-up sequence (unless --no-warm-up), and starts serving. */
    KvSlimServer start(PrintStream err) {
        ServeConfig c = configuration();
        KvSlimServer server = KvSlimServer.start(load(), c, null, m -> {
            if (warmUp) {
                long ns = m.scheduler().warmUp(WARM_UP_TOKENS, WARM_UP_TOKENS);
                err.printf(
                        "kvslim: ran '%s' for the JIT (a %d-token prompt and %d steps) in %.1f s%n",
                        m.name(), WARM_UP_TOKENS, WARM_UP_TOKENS, ns / 1e9);
            }
        });
        for (ServedModel m : server.models()) {
            Scheduler s = m.scheduler();
            err.printf(
                    "kvslim: serving '%s' (%s, %s cache, %,d-byte KV budget, chat template: %s)%n",
                    m.name(),
                    m.loaded().format(),
                    s.usesDms() ? "DMS" : "uncompressed paged",
                    s.pool().budgetBytes(),
                    m.loaded().chatTemplate() != null ? "yes" : "no");
        }
        err.printf(
                "kvslim: listening on http://%s:%d/v1 (API keys: %s); /metrics, /health, /ready%n",
                c.host(), server.port(), c.keys().required() ? c.keys().size() : "none, open");
        return server;
    }

    @Override
    public Integer call() throws InterruptedException {
        // the hook goes in before the server says it listens: a SIGTERM right after that line still drains
        AtomicReference<KvSlimServer> running = new AtomicReference<>();
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            System.err.println("kvslim: shutting down");
            int status = 0;
            try {
                KvSlimServer server = running.get();
                if (server != null) {
                    server.close();
                }
            } catch (RuntimeException e) {
                System.err.println("kvslim: error: shutting down failed: " + e.getMessage());
                status = 1;
            }
            stopped.countDown();
            System.err.flush();
            // a drained shutdown is a success: exit 0, not the 143 the JVM reports for a process ended by SIGTERM
            Runtime.getRuntime().halt(status);
        });
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            running.set(start(System.err));
        } catch (RuntimeException e) {
            // nothing to drain: the error's exit status (1) stands, not the hook's 0
            Runtime.getRuntime().removeShutdownHook(hook);
            throw e;
        }
        stopped.await();
        return 0;
    }
}
