package dev.kvslim.serve.dashboard;

import dev.kvslim.serve.api.ServedModel;
import dev.kvslim.serve.auth.ApiKeys;
import dev.kvslim.serve.schedule.SchedulerStats;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The live dashboard the server serves itself at {@code /}: a page whose script polls {@code /dashboard/data} (JSON
 * of the {@link DashboardHistory} and each model's per-(layer, KV head) eviction rates) and draws throughput, KV usage
 * and compression ratio with uPlot, and the eviction rates as a heat map. uPlot comes from its WebJar on the class
 * path, so the page needs nothing from outside the server.
 */
public final class DashboardRoutes {

    /** The uPlot version of the WebJar; the root pom pins the same. */
    static final String UPLOT_VERSION = "1.6.30";

    private static final String UPLOT = "/META-INF/resources/webjars/uplot/" + UPLOT_VERSION + "/dist/";
    private static final String OWN = "/dev/kvslim/serve/dashboard/";
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** The static files: path served, class-path resource, content type. */
    private static final Map<String, String[]> FILES = Map.of(
            "/", new String[] {OWN + "index.html", "text/html; charset=utf-8"},
            "/dashboard/dashboard.js", new String[] {OWN + "dashboard.js", "text/javascript; charset=utf-8"},
            "/dashboard/uPlot.iife.min.js",
                    new String[] {UPLOT + "uPlot.iife.min.js", "text/javascript; charset=utf-8"},
            "/dashboard/uPlot.min.css", new String[] {UPLOT + "uPlot.min.css", "text/css; charset=utf-8"});

    private DashboardRoutes() {}

    /**
     * Adds the dashboard's routes over {@code history} to {@code routing}. The page and its scripts hold no data and
     * are open; the data ({@code /dashboard/data}: models, budgets, load, key names and their usage) needs one of
     * {@code keys} when any are set.
     */
    public static void register(HttpRouting.Builder routing, DashboardHistory history, ApiKeys keys) {
        FILES.forEach((path, file) -> {
            byte[] content = resource(file[0]);
            routing.get(path, (req, res) -> {
                res.header(HeaderNames.CONTENT_TYPE, file[1]);
                res.header(HeaderNames.CACHE_CONTROL, "no-cache");
                res.send(content);
            });
        });
        routing.get("/dashboard/data", (req, res) -> {
            String authorization =
                    req.headers().first(HeaderNames.AUTHORIZATION).orElse(null);
            if (keys.authenticate(authorization).isEmpty()) {
                ObjectNode error = JSON.createObjectNode();
                error.putObject("error")
                        .put("message", "The dashboard's data needs an API key: open /#key=YOUR_KEY.")
                        .put("type", "invalid_request_error")
                        .put("code", "invalid_api_key");
                res.status(401);
                sendJson(res, error);
                return;
            }
            sendJson(res, data(history));
        });
    }

    private static byte[] resource(String name) {
        try (InputStream in = DashboardRoutes.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("the dashboard's resource " + name + " is not on the class path"
                        + " (is the uPlot WebJar " + UPLOT_VERSION + " a dependency?)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void sendJson(ServerResponse res, ObjectNode body) {
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        res.send(body.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The dashboard's data: per model its name, cache, budget, shape, the sampled series (column arrays, as uPlot takes
     * them; the running caches' compression ratio is null while none runs) and the eviction rate of every (layer, KV head) since start ({@code 1 - kept / seen}; 0 before any token).
     */
    static ObjectNode data(DashboardHistory history) {
        ObjectNode root = JSON.createObjectNode();
        root.put("interval_seconds", history.interval().toMillis() / 1000.0);
        ArrayNode models = root.putArray("models");
        List<ServedModel> served = history.models();
        for (int i = 0; i < served.size(); i++) {
            ServedModel m = served.get(i);
            SchedulerStats stats = m.scheduler().stats();
            ObjectNode o = models.addObject();
            o.put("name", m.name());
            o.put("cache", m.scheduler().cacheSpec().label());
            o.put("budget_bytes", stats.budgetBytes());
            o.put("used_bytes", stats.usedBytes());
            o.put("peak_used_bytes", stats.peakUsedBytes());
            o.put("generated_tokens", stats.generatedTokens());
            o.put("layers", stats.seenByHead().length);
            o.put("kv_heads", stats.seenByHead().length == 0 ? 0 : stats.seenByHead()[0].length);
            o.put("lifetime_compression_ratio", stats.lifetimeCompressionRatio());
            if (Double.isNaN(stats.prefixHitRate())) {
                o.putNull("prefix_cache_hit_rate"); // no lookups yet (or prefix caching off)
            } else {
                o.put("prefix_cache_hit_rate", stats.prefixHitRate());
            }
            o.put("prefix_cache_queries", stats.prefixQueries());
            ObjectNode series = o.putObject("series");
            ArrayNode t = series.putArray("t"),
                    tps = series.putArray("tokens_per_second"),
                    usage = series.putArray("kv_usage"),
                    ratio = series.putArray("compression_ratio"),
                    lifetime = series.putArray("lifetime_compression_ratio"),
                    running = series.putArray("running"),
                    waiting = series.putArray("waiting");
            for (DashboardHistory.Sample s : history.samples(i)) {
                t.add(s.epochSeconds());
                tps.add(s.tokensPerSecond());
                usage.add(s.kvUsage());
                if (s.running() > 0) {
                    ratio.add(s.compressionRatio());
                } else {
                    ratio.addNull(); // nothing running: no ratio (a gap), rather than the 1 of an empty cache
                }
                lifetime.add(s.lifetimeCompressionRatio());
                running.add(s.running());
                waiting.add(s.waiting());
            }
            ArrayNode rates = o.putArray("eviction_rates");
            for (int l = 0; l < stats.seenByHead().length; l++) {
                ArrayNode layer = rates.addArray();
                for (int h = 0; h < stats.seenByHead()[l].length; h++) {
                    long seen = stats.seenByHead()[l][h];
                    layer.add(seen == 0 ? 0 : 1 - stats.keptByHead()[l][h] / (double) seen);
                }
            }
        }
        return root;
    }
}
