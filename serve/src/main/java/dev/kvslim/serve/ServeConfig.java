package dev.kvslim.serve;

import dev.kvslim.core.kv.KvType;
import dev.kvslim.serve.auth.ApiKeys;
import dev.kvslim.serve.metrics.ServerMetrics;
import dev.kvslim.serve.schedule.Scheduler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * How a server runs: where it listens, the KV budget and element type (the budget split evenly between the served models, each of which gets its
 * own block pool), scheduling limits, the largest request body, how long shutdown waits for requests in flight, and
 * the API keys, which guard {@code /v1}, {@code /metrics} and the dashboard's data ({@code metrics_public} opens
 * {@code /metrics}, as vLLM leaves it; {@code /health} and {@code /ready} are always open), and which web origins
 * may call the API from a browser ({@code cors_allowed_origins}; none by default). {@link #withFile} reads
 * overrides from a JSON config file, e.g.
 * <pre>{"host": "0.0.0.0", "port": 8080, "kv_budget_bytes": 4294967296, "tokens_per_step": 256, "max_running": 64,
 *  "max_waiting": 256, "max_body_bytes": 4194304, "shutdown_grace_seconds": 30,
 *  "kv_type": "f16", "metrics_public": false, "prefix_caching": true, "metrics_names": "both", "api_keys": {"team-a": "sk-...", "team-b": "sk-..."}}</pre>
 */
public record ServeConfig(
        String host,
        int port,
        long kvBudgetBytes,
        Scheduler.Options scheduling,
        long maxBodyBytes,
        Duration shutdownGrace,
        ApiKeys keys,
        KvType kvType,
        boolean metricsPublic,
        List<String> corsOrigins,
        ServerMetrics.Names metricsNames) {

    private static final Set<String> FIELDS = Set.of(
            "host",
            "port",
            "kv_budget_bytes",
            "tokens_per_step",
            "max_running",
            "max_waiting",
            "max_body_bytes",
            "shutdown_grace_seconds",
            "api_keys",
            "kv_type",
            "metrics_public",
            "prefix_caching",
            "metrics_names",
            "cors_allowed_origins");

    public ServeConfig {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0 to 65535, got " + port);
        }
        Objects.requireNonNull(kvType, "kvType");
        corsOrigins = List.copyOf(corsOrigins);
        for (String origin : corsOrigins) {
            if (!origin.equals("*") && !origin.matches("https?://[^/\\s]+")) {
                throw new IllegalArgumentException(
                        "a CORS origin is a scheme and host (e.g. https://app.example.com) or *," + " got '" + origin
                                + "'");
            }
        }
        if (kvBudgetBytes <= 0 || maxBodyBytes <= 0) {
            throw new IllegalArgumentException(
                    "the KV budget and the body limit must be positive: " + kvBudgetBytes + ", " + maxBodyBytes);
        }
    }

    /**
     * Loopback on 8080, a quarter of the heap for keys and values, {@link Scheduler.Options#DEFAULTS}, 4 MiB bodies,
     * 30 s of grace, and the keys of {@code KVSLIM_API_KEYS} (unset: open).
     */
    public static ServeConfig defaults() {
        return defaults(System.getenv("KVSLIM_API_KEYS"));
    }

    /**
     * As {@link #defaults()}, with {@code keysVariable} as the value of {@code KVSLIM_API_KEYS} (null: unset). A
     * variable that is set but names no key (empty, blank, only commas) is an error: it would open the server to
     * everyone when someone meant to close it.
     */
    public static ServeConfig defaults(String keysVariable) {
        ApiKeys keys = keysVariable == null ? ApiKeys.OPEN : ApiKeys.parse(keysVariable);
        if (keysVariable != null && !keys.required()) {
            throw new IllegalArgumentException("KVSLIM_API_KEYS is set but names no key ('" + keysVariable + "'): give"
                    + " name=key pairs, or unset it to serve without keys");
        }
        return new ServeConfig(
                "127.0.0.1",
                8080,
                Runtime.getRuntime().maxMemory() / 4,
                Scheduler.Options.DEFAULTS,
                4L << 20,
                Duration.ofSeconds(30),
                keys,
                KvType.F32,
                false,
                List.of(),
                ServerMetrics.Names.BOTH);
    }

    /** Which names the metrics of the load-balancing protocol are exposed under ({@link ServerMetrics.Names}). */
    public ServeConfig withMetricsNames(ServerMetrics.Names value) {
        return new ServeConfig(
                host,
                port,
                kvBudgetBytes,
                scheduling,
                maxBodyBytes,
                shutdownGrace,
                keys,
                kvType,
                metricsPublic,
                corsOrigins,
                Objects.requireNonNull(value, "metrics names"));
    }

    public ServeConfig withHost(String value) {
        return new ServeConfig(
                value,
                port,
                kvBudgetBytes,
                scheduling,
                maxBodyBytes,
                shutdownGrace,
                keys,
                kvType,
                metricsPublic,
                corsOrigins,
                metricsNames);
    }

    public ServeConfig withPort(int value) {
        return new ServeConfig(
                host,
                value,
                kvBudgetBytes,
                scheduling,
                maxBodyBytes,
                shutdownGrace,
                keys,
                kvType,
                metricsPublic,
                corsOrigins,
                metricsNames);
    }

    public ServeConfig withKvBudget(long value) {
        return new ServeConfig(
                host,
                port,
                value,
                scheduling,
                maxBodyBytes,
                shutdownGrace,
                keys,
                kvType,
                metricsPublic,
                corsOrigins,
                metricsNames);
    }

    public ServeConfig withScheduling(Scheduler.Options value) {
        return new ServeConfig(
                host,
                port,
                kvBudgetBytes,
                value,
                maxBodyBytes,
                shutdownGrace,
                keys,
                kvType,
                metricsPublic,
                corsOrigins,
                metricsNames);
    }

    public ServeConfig withMaxBodyBytes(long value) {
        return new ServeConfig(
                host,
                port,
                kvBudgetBytes,
                scheduling,
                value,
                shutdownGrace,
                keys,
                kvType,
                metricsPublic,
                corsOrigins,
                metricsNames);
    }

    public ServeConfig withShutdownGrace(Duration value) {
        return new ServeConfig(
                host,
                port,
                kvBudgetBytes,
                scheduling,
                maxBodyBytes,
                value,
                keys,
                kvType,
                metricsPublic,
                corsOrigins,
                metricsNames);
    }

    public ServeConfig withKvType(KvType value) {
        return new ServeConfig(
                host,
                port,
                kvBudgetBytes,
                scheduling,
                maxBodyBytes,
                shutdownGrace,
                keys,
                value,
                metricsPublic,
                corsOrigins,
                metricsNames);
    }

    public ServeConfig withMetricsPublic(boolean value) {
        return new ServeConfig(
                host,
                port,
                kvBudgetBytes,
                scheduling,
                maxBodyBytes,
                shutdownGrace,
                keys,
                kvType,
                value,
                corsOrigins,
                metricsNames);
    }

    public ServeConfig withCorsOrigins(List<String> value) {
        return new ServeConfig(
                host,
                port,
                kvBudgetBytes,
                scheduling,
                maxBodyBytes,
                shutdownGrace,
                keys,
                kvType,
                metricsPublic,
                value,
                metricsNames);
    }

    public ServeConfig withKeys(ApiKeys value) {
        return new ServeConfig(
                host,
                port,
                kvBudgetBytes,
                scheduling,
                maxBodyBytes,
                shutdownGrace,
                value,
                kvType,
                metricsPublic,
                corsOrigins,
                metricsNames);
    }

    /** This configuration with the settings {@code file} (JSON, see the class comment) gives. */
    public ServeConfig withFile(Path file) {
        JsonNode root;
        try {
            root = JsonMapper.builder().build().readTree(Files.readString(file));
        } catch (JacksonException e) {
            throw new IllegalArgumentException(
                    "the server config " + file + " is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the server config " + file + ": " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("the server config " + file + " must be a JSON object");
        }
        for (String name : root.propertyNames()) {
            if (!FIELDS.contains(name)) {
                throw new IllegalArgumentException("the server config " + file + " has an unknown setting '" + name
                        + "'; known: " + String.join(", ", new java.util.TreeSet<>(FIELDS)));
            }
        }
        ServeConfig c = this;
        if (root.has("host")) {
            c = c.withHost(text(file, root, "host"));
        }
        if (root.has("port")) {
            c = c.withPort((int) number(file, root, "port"));
        }
        if (root.has("kv_budget_bytes")) {
            c = c.withKvBudget(number(file, root, "kv_budget_bytes"));
        }
        Scheduler.Options s = c.scheduling();
        if (root.has("tokens_per_step") || root.has("max_running") || root.has("max_waiting")) {
            s = new Scheduler.Options(
                    root.has("tokens_per_step") ? (int) number(file, root, "tokens_per_step") : s.tokensPerStep(),
                    root.has("max_running") ? (int) number(file, root, "max_running") : s.maxRunning(),
                    root.has("max_waiting") ? (int) number(file, root, "max_waiting") : s.maxWaiting(),
                    s.stepPause(),
                    s.prefixCaching());
            c = c.withScheduling(s);
        }
        if (root.has("kv_type")) {
            try {
                c = c.withKvType(KvType.parse(text(file, root, "kv_type")));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'kv_type' in " + file + ": " + e.getMessage(), e);
            }
        }
        if (root.has("max_body_bytes")) {
            c = c.withMaxBodyBytes(number(file, root, "max_body_bytes"));
        }
        if (root.has("shutdown_grace_seconds")) {
            c = c.withShutdownGrace(Duration.ofSeconds(number(file, root, "shutdown_grace_seconds")));
        }
        if (root.has("metrics_names")) {
            try {
                c = c.withMetricsNames(ServerMetrics.Names.parse(text(file, root, "metrics_names")));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'metrics_names' in " + file + ": " + e.getMessage(), e);
            }
        }
        if (root.has("prefix_caching")) {
            JsonNode v = root.get("prefix_caching");
            if (!v.isBoolean()) {
                throw new IllegalArgumentException("'prefix_caching' in " + file + " must be true or false");
            }
            Scheduler.Options o = c.scheduling();
            c = c.withScheduling(new Scheduler.Options(
                    o.tokensPerStep(), o.maxRunning(), o.maxWaiting(), o.stepPause(), v.asBoolean()));
        }
        if (root.has("metrics_public")) {
            JsonNode v = root.get("metrics_public");
            if (!v.isBoolean()) {
                throw new IllegalArgumentException("'metrics_public' in " + file + " must be true or false");
            }
            c = c.withMetricsPublic(v.asBoolean());
        }
        if (root.has("cors_allowed_origins")) {
            JsonNode origins = root.get("cors_allowed_origins");
            if (!origins.isArray()) {
                throw new IllegalArgumentException("'cors_allowed_origins' in " + file + " must be a list of origins");
            }
            List<String> list = new java.util.ArrayList<>();
            for (JsonNode o : origins) {
                if (!o.isString()) {
                    throw new IllegalArgumentException("'cors_allowed_origins' in " + file + " must hold strings");
                }
                list.add(o.asString());
            }
            c = c.withCorsOrigins(list);
        }
        if (root.has("api_keys")) {
            JsonNode keys = root.get("api_keys");
            if (!keys.isObject()) {
                throw new IllegalArgumentException("api_keys in " + file + " must be an object of name: key");
            }
            Map<String, String> byName = new LinkedHashMap<>();
            for (String name : keys.propertyNames()) {
                byName.put(name, text(file, keys, name));
            }
            c = c.withKeys(new ApiKeys(byName));
        }
        return c;
    }

    private static String text(Path file, JsonNode root, String field) {
        JsonNode v = root.get(field);
        if (!v.isString()) {
            throw new IllegalArgumentException("'" + field + "' in " + file + " must be a string");
        }
        return v.asString();
    }

    private static long number(Path file, JsonNode root, String field) {
        JsonNode v = root.get(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new IllegalArgumentException("'" + field + "' in " + file + " must be an integer");
        }
        return v.asLong();
    }
}
