package dev.kvslim.serve;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A plain java.net.http client of a server under test: JSON requests, and SSE streams parsed into their events. */
final class TestClient {

    static final JsonMapper JSON = JsonMapper.builder().build();

    private final HttpClient http =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final String base;
    private final String key;

    TestClient(int port, String key) {
        this.base = "http://127.0.0.1:" + port;
        this.key = key;
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return b;
    }

    HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return post(path, body, "application/json");
    }

    HttpResponse<String> post(String path, String body, String accept) throws IOException, InterruptedException {
        return http.send(
                request(path)
                        .header("Content-Type", "application/json")
                        .header("Accept", accept)
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A POST with one more header. */
    HttpResponse<String> post(String path, String body, String accept, String header, String value)
            throws IOException, InterruptedException {
        return http.send(
                request(path)
                        .header("Content-Type", "application/json")
                        .header("Accept", accept)
                        .header(header, value)
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The JSON of a 200 response; fails with the body otherwise. */
    JsonNode ok(String path, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = post(path, body);
        if (r.statusCode() != 200) {
            throw new AssertionError("status " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }

    /** An open SSE stream. */
    HttpResponse<InputStream> open(String path, String body, String accept) throws IOException, InterruptedException {
        return http.send(
                request(path)
                        .header("Content-Type", "application/json")
                        .header("Accept", accept)
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofInputStream());
    }

    /** The events of a whole SSE stream: each {@code data:} payload, {@code [DONE]} included, checking the framing. */
    List<String> stream(String path, String body) throws IOException, InterruptedException {
        HttpResponse<InputStream> r = open(path, body, "application/json");
        if (r.statusCode() != 200) {
            throw new AssertionError(
                    "status " + r.statusCode() + ": " + new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
        }
        if (!r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream")) {
            throw new AssertionError("not an event stream: " + r.headers().firstValue("Content-Type"));
        }
        return events(r.body());
    }

    static List<String> events(InputStream in) throws IOException {
        List<String> events = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (!line.startsWith("data: ")) {
                    throw new AssertionError("not an SSE data line: '" + line + "'");
                }
                events.add(line.substring(6));
                if (!reader.readLine().isEmpty()) {
                    throw new AssertionError("an SSE event must end with a blank line");
                }
            }
        }
        return events;
    }
}
