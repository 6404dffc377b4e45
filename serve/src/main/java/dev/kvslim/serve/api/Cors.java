package dev.kvslim.serve.api;

import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.util.List;

/**
 * Which web pages may call the API from a browser: none unless configured ({@code cors_allowed_origins}), as vLLM's
 * {@code --allowed-origins}. A request from an allowed origin gets {@code Access-Control-Allow-Origin}; its preflight
 * ({@code OPTIONS} with {@code Access-Control-Request-Method}) is answered 204 with the methods and headers the API
 * takes. Requests from other origins get no CORS headers, so the browser keeps their answers from the page; since
 * every POST must be {@code application/json}, such a page cannot even send work without a preflight.
 */
public final class Cors implements Filter {

    private final List<String> origins;

    /** Allows {@code origins} (scheme and host, or {@code *} for any). */
    public Cors(List<String> origins) {
        this.origins = List.copyOf(origins);
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        String origin = req.headers().first(HeaderNames.ORIGIN).orElse(null);
        if (origin == null || !(origins.contains("*") || origins.contains(origin))) {
            chain.proceed();
            return;
        }
        res.header(HeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origins.contains("*") ? "*" : origin);
        res.header(HeaderNames.VARY, "Origin");
        boolean preflight = req.prologue().method().equals(Method.OPTIONS)
                && req.headers().contains(HeaderNames.ACCESS_CONTROL_REQUEST_METHOD);
        if (!preflight) {
            chain.proceed();
            return;
        }
        res.header(HeaderNames.ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS");
        res.header(HeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, "Authorization, Content-Type");
        res.header(HeaderNames.ACCESS_CONTROL_MAX_AGE, "600");
        res.status(204).send();
    }
}
