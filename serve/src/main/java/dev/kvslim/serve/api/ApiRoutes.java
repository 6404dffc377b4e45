package dev.kvslim.serve.api;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The HTTP routes of the server: the OpenAI-compatible endpoints under {@code /v1} and vLLM's {@code /tokenize} and
 * {@code /detokenize} (behind the API keys, if any), and
 * {@code /health}, {@code /ready} (always open) and {@code /metrics} (behind the keys unless {@code metrics_public})
 * for operators. Every failure of a {@code /v1} request is
 * answered in OpenAI's error shape with its status.
 */
public final class ApiRoutes {

    private static final System.Logger LOG = System.getLogger(ApiRoutes.class.getName());

    private ApiRoutes() {}

    /** Adds the routes over {@code context} to {@code routing}. */
    public static void register(HttpRouting.Builder routing, ApiContext context) {
        routing.post("/v1/chat/completions", guarded(new GenerationEndpoint(true, context)))
                .post("/v1/completions", guarded(new GenerationEndpoint(false, context)))
                .get("/v1/models", guarded((req, res) -> models(context, req, res)))
                .post("/tokenize", guarded(new TokenizeEndpoint(true, context)))
                .post("/detokenize", guarded(new TokenizeEndpoint(false, context)))
                .get("/health", (req, res) -> res.send())
                .head("/health", (req, res) -> res.send())
                .get("/ready", (req, res) -> ready(context, res, true))
                .head("/ready", (req, res) -> ready(context, res, false))
                .get("/metrics", guarded((req, res) -> {
                    if (!context.metricsPublic()) {
                        authenticate(context, req);
                    }
                    res.header(HeaderNames.CONTENT_TYPE, dev.kvslim.serve.metrics.ServerMetrics.contentType());
                    java.io.ByteArrayOutputStream text = new java.io.ByteArrayOutputStream();
                    context.metrics().write(text);
                    res.send(text.toByteArray());
                }));
        // a known path asked with another method: 405 naming the ones it takes (not a 404, as if it did not exist)
        for (String[] route : new String[][] {
            {"/v1/chat/completions", "POST"},
            {"/v1/completions", "POST"},
            {"/v1/models", "GET"},
            {"/tokenize", "POST"},
            {"/detokenize", "POST"},
            {"/health", "GET, HEAD"},
            {"/ready", "GET, HEAD"},
            {"/metrics", "GET"}
        }) {
            routing.any(route[0], (req, res) -> {
                res.header(HeaderNames.ALLOW, route[1]);
                sendError(
                        res,
                        new ApiException(
                                405,
                                "invalid_request_error",
                                null,
                                null,
                                req.prologue().method().text() + " is not allowed on " + route[0] + ": use " + route[1]
                                        + ".",
                                0));
            });
        }
    }

    private static void ready(ApiContext context, ServerResponse res, boolean body) {
        boolean ready = context.accepting().getAsBoolean();
        res.status(ready ? 200 : 503);
        if (body) {
            res.send(ready ? "ready" : "shutting down");
        } else {
            res.send();
        }
    }

    /** Answers what {@code handler} throws as an OpenAI error object (500 for anything unexpected). */
    static Handler guarded(Handler handler) {
        return (req, res) -> {
            try {
                handler.handle(req, res);
            } catch (ApiException e) {
                sendError(res, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                sendError(res, new ApiException(503, "server_error", null, null, "The server is shutting down.", 1));
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "request failed", e);
                sendError(res, new ApiException(500, "server_error", null, null, "Internal error: " + e, 0));
            }
        };
    }

    private static void sendError(ServerResponse res, ApiException e) {
        if (res.isSent()) {
            return; // a stream already under way: the client sees it cut short
        }
        try {
            res.status(e.status());
            res.header(HeaderNames.CONTENT_TYPE, "application/json");
            if (e.retryAfterSeconds() > 0) {
                res.header(HeaderNames.RETRY_AFTER, Integer.toString(e.retryAfterSeconds()));
            }
            res.send(ResponseShapes.error(e));
        } catch (IllegalStateException streaming) {
            LOG.log(System.Logger.Level.DEBUG, "cannot answer with an error once streaming began: " + e.getMessage());
        } catch (RuntimeException gone) {
            LOG.log(System.Logger.Level.DEBUG, "the client left before its error (" + e.getMessage() + ") was sent");
        }
    }

    /** The name of the caller's API key, or a 401. */
    static String authenticate(ApiContext context, ServerRequest req) {
        String header = req.headers().first(HeaderNames.AUTHORIZATION).orElse(null);
        return context.keys().authenticate(header).orElseThrow(ApiException::unauthorized);
    }

    /**
     * The request body: JSON ({@code Content-Type: application/json}; anything else is a 415, which also keeps web
     * pages from posting work to a local server without a CORS preflight), at most the allowed size (413); a body cut
     * short is a 400.
     */
    static byte[] body(ApiContext context, ServerRequest req) {
        String type = req.headers().first(HeaderNames.CONTENT_TYPE).orElse("");
        String mediaType = type.split(";", -1)[0].strip().toLowerCase(java.util.Locale.ROOT);
        if (!mediaType.equals("application/json")) {
            throw new ApiException(
                    415,
                    "invalid_request_error",
                    null,
                    null,
                    "Content-Type must be application/json, got '" + type + "'.",
                    0);
        }
        long max = context.maxBodyBytes();
        byte[] body;
        try (InputStream in = req.content().inputStream()) {
            body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
        } catch (IOException | RuntimeException e) {
            // a bad chunk size, a Content-Length larger than what arrives, a connection cut: the client's mistake
            throw ApiException.invalid(
                    null,
                    "The request body could not be read in full ("
                            + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage())
                            + ").");
        }
        if (body.length > max) {
            throw ApiException.tooLarge(null, "The request body is larger than " + max + " bytes.");
        }
        return body;
    }

    private static void models(ApiContext context, ServerRequest req, ServerResponse res) {
        authenticate(context, req);
        ObjectNode list = ResponseShapes.JSON.createObjectNode();
        list.put("object", "list");
        ArrayNode data = list.putArray("data");
        long created = System.currentTimeMillis() / 1000;
        for (ServedModel m : context.models()) {
            ObjectNode o = data.addObject();
            o.put("id", m.name());
            o.put("object", "model");
            o.put("created", created);
            o.put("owned_by", "kvslim");
            // the file or folder name only: where models live on the server is not the client's business
            o.put("root", String.valueOf(m.loaded().path().getFileName()));
            o.put("max_model_len", m.loaded().model().config().contextLength());
        }
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(list.toString().getBytes(StandardCharsets.UTF_8));
    }
}
