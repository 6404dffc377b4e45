package dev.kvslim.serve;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.serve.api.ApiContext;
import dev.kvslim.serve.api.ApiRoutes;
import dev.kvslim.serve.api.Cors;
import dev.kvslim.serve.api.GzipRequests;
import dev.kvslim.serve.api.ServedModel;
import dev.kvslim.serve.dashboard.DashboardHistory;
import dev.kvslim.serve.dashboard.DashboardRoutes;
import dev.kvslim.serve.metrics.ServerMetrics;
import dev.kvslim.serve.schedule.Scheduler;
import io.helidon.http.encoding.ContentEncodingContext;
import io.helidon.webserver.WebServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The OpenAI-compatible server: one continuous-batching {@link Scheduler} per served model, each with its share of the
 * KV budget, behind Helidon's webserver (a virtual thread per request). {@link #close} shuts down gracefully: new
 * requests get 503 and {@code /ready} turns 503, requests in flight get the configured grace to finish, what is left
 * is cancelled, then the listener stops. The server also serves its own live dashboard at {@code /}.
 */
public final class KvSlimServer implements AutoCloseable {

    private final ServeConfig config;
    private final List<ServedModel> models;
    private final ServerMetrics metrics;
    private final DashboardHistory dashboard;
    private final WebServer web;
    private volatile boolean accepting = true;

    private KvSlimServer(ServeConfig config, Map<String, LoadedModel> loaded, KvCacheSpec.Paged cache) {
        this.config = config;
        this.metrics = new ServerMetrics(config.metricsNames());
        long left = BlockPool.heapLeft();
        if (config.kvBudgetBytes() > left) {
            throw new IllegalArgumentException(String.format(
                    "a KV budget of %,d bytes is more than the %,d bytes of heap the loaded models leave: give a smaller"
                            + " --kv-budget, or a larger -Xmx through KVSLIM_JAVA_OPTS",
                    config.kvBudgetBytes(), left));
        }
        long budget = config.kvBudgetBytes() / loaded.size();
        List<ServedModel> served = new ArrayList<>();
        loaded.forEach((name, m) -> {
            BlockPool pool = new BlockPool(
                    m.model().config().headSize(),
                    PagedKvCache.blockSizeFor(m.model().config().contextLength()),
                    budget,
                    config.kvType());
            // the smallest sequence, one prompt token and one generated, as admission counts it
            long blocks = m.model().config().kvShape().blocksFor(2, pool.blockSize());
            if (blocks > pool.capacityBlocks()) {
                long least = blocks * pool.blockBytes();
                throw new IllegalArgumentException("a KV budget of " + config.kvBudgetBytes() + " bytes"
                        + (loaded.size() > 1 ? " (" + budget + " for each of " + loaded.size() + " models)" : "")
                        + " holds no sequence of '" + name + "': one needs at least " + least + " bytes (a block of "
                        + pool.blockSize() + " tokens per layer and KV head); give --kv-budget "
                        + least * loaded.size() + " or more");
            }
            Scheduler scheduler = new Scheduler(
                    name,
                    m.model(),
                    m.tokenizer(),
                    m::isEndOfGeneration,
                    pool,
                    config.scheduling(),
                    metrics.observer(name),
                    cache != null
                            ? cache
                            : KvCacheSpec.modelDefault(m.model().config().kvShape()));
            metrics.register(name, scheduler);
            served.add(new ServedModel(name, m, scheduler));
        });
        this.models = List.copyOf(served);
        this.dashboard = new DashboardHistory(models, Duration.ofSeconds(1), 600);
        ApiContext context = new ApiContext(
                models, config.keys(), config.metricsPublic(), metrics, config.maxBodyBytes(), () -> accepting);
        this.web = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .shutdownHook(false)
                .contentEncoding(ContentEncodingContext.builder()
                        .contentEncodingsDiscoverServices(false)
                        .addContentEncoding(new GzipRequests())
                        .build())
                .routing(routing -> {
                    if (!config.corsOrigins().isEmpty()) {
                        routing.addFilter(new Cors(config.corsOrigins()));
                    }
                    ApiRoutes.register(routing, context);
                    DashboardRoutes.register(routing, dashboard, config.keys());
                })
                .build();
    }

    /** Starts serving {@code models} (by the names requests use) as {@code config} says. */
    public static KvSlimServer start(Map<String, LoadedModel> models, ServeConfig config) {
        return start(models, config, null);
    }

    /**
     * As above, giving every model's sequences the cache {@code cache} says instead of the model's own (null); the
     * load benchmark serves a DMS model both ways.
     */
    public static KvSlimServer start(Map<String, LoadedModel> models, ServeConfig config, KvCacheSpec.Paged cache) {
        return start(models, config, cache, s -> {});
    }

    /**
     * As above, calling {@code beforeListening} with each model's scheduler once the schedulers exist and before the
     * server listens (the command line's warm-up: {@link Scheduler#warmUp}).
     */
    public static KvSlimServer start(
            Map<String, LoadedModel> models,
            ServeConfig config,
            KvCacheSpec.Paged cache,
            Consumer<ServedModel> beforeListening) {
        if (models.isEmpty()) {
            throw new IllegalArgumentException("a server needs at least one model");
        }
        requireFreePort(config.host(), config.port());
        KvSlimServer server = new KvSlimServer(config, new LinkedHashMap<>(models), cache);
        try {
            server.models().forEach(beforeListening);
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        server.web.start();
        if (!server.web.isRunning() || server.web.port() < 0) {
            // taken between the check and the start: Helidon logs the bind failure and reports port -1
            server.close();
            throw new IllegalStateException(portInUse(config.host(), config.port()));
        }
        return server;
    }

    /**
     * Fails with one line naming the address when {@code port} on {@code host} cannot be bound (Helidon would log
     * a stack trace and go on without listening).
     */
    private static void requireFreePort(String host, int port) {
        if (port == 0) {
            return;
        }
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new java.net.InetSocketAddress(host, port));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(portInUse(host, port) + " (" + e.getMessage() + ")");
        }
    }

    private static String portInUse(String host, int port) {
        return "cannot listen on " + host + ":" + port
                + ": the port is in use or not allowed; choose another with --port";
    }

    /** The name a model is served under: its file or folder name without extension. */
    public static String modelName(Path path) {
        String name = path.toAbsolutePath().normalize().getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    /** The port listened on (the one the system picked, for port 0). */
    public int port() {
        return web.port();
    }

    public List<ServedModel> models() {
        return models;
    }

    public ServerMetrics metrics() {
        return metrics;
    }

    /** Stops accepting, lets requests in flight finish within the grace period, cancels the rest, and stops. */
    @Override
    public void close() {
        accepting = false;
        try {
            for (ServedModel m : models) {
                m.scheduler().shutdown(config.shutdownGrace());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        web.stop();
        dashboard.close();
    }
}
