package dev.kvslim.serve;

import static dev.kvslim.serve.ServerTest.assertError;
import static dev.kvslim.serve.ServerTest.completion;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.serve.auth.ApiKeys;
import dev.kvslim.serve.schedule.Scheduler;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The server under pressure: API keys, a full queue, clients that go away mid-stream, a KV budget far below the
 * demand, and shutdown with requests in flight. Servers here pause a little after each engine step ("paced") so that
 * a request is still running when the test acts on it.
 */
class ServerLoadTest {

    private static LoadedModel stories;
    private KvSlimServer server;

    @BeforeAll
    static void load() {
        ServerTest.start();
        stories = ServerTest.stories;
        ServerTest.stop();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private TestClient start(ServeConfig config, String key) {
        server = KvSlimServer.start(Map.of("stories", stories), config);
        return new TestClient(server.port(), key);
    }

    private static ServeConfig paced(int maxRunning, int maxWaiting) {
        return ServerTest.config()
                .withScheduling(new Scheduler.Options(16, maxRunning, maxWaiting, Duration.ofMillis(10)));
    }

    private Scheduler scheduler() {
        return server.models().getFirst().scheduler();
    }

    /**
     * A completion request on a bare socket, written by hand: closing the socket closes the connection at once
     * (java.net.http may keep a connection open after its stream is closed).
     */
    private Socket post(String json) throws java.io.IOException {
        Socket s = new Socket("127.0.0.1", server.port());
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        s.getOutputStream()
                .write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                                + "Content-Length: " + body.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().write(body);
        s.getOutputStream().flush();
        return s;
    }

    /** A metric's value in the server's /metrics text, 0 if absent. */
    private double metric(TestClient client, String series) throws Exception {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$")
                .matcher(client.get("/metrics").body());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    private void awaitEmptyPool() throws InterruptedException {
        for (int i = 0; i < 5000 && scheduler().pool().usedBlocks() > 0; i++) {
            Thread.sleep(1);
        }
        assertThat(scheduler().pool().usedBlocks()).isZero();
    }

    @Test
    void keysAreCheckedAndMetered() throws Exception {
        ServeConfig config = ServerTest.config().withKeys(ApiKeys.parse("team-a=sk-aaa, team-b=sk-bbb"));
        TestClient a = start(config, "sk-aaa");
        TestClient none = new TestClient(server.port(), null);
        TestClient wrong = new TestClient(server.port(), "sk-aab");
        assertError(none.post("/v1/completions", completion("One day", 5, "")), 401, null);
        assertError(wrong.post("/v1/completions", completion("One day", 5, "")), 401, null);
        assertThat(wrong.get("/v1/models").statusCode()).isEqualTo(401);
        assertThat(none.get("/health").statusCode()).isEqualTo(200);
        assertThat(none.get("/ready").statusCode()).isEqualTo(200);
        // what the server is doing and who uses it is for key holders too (vLLM leaves /metrics open: metrics_public)
        assertThat(none.get("/metrics").statusCode()).isEqualTo(401);
        assertThat(wrong.get("/dashboard/data").statusCode()).isEqualTo(401);
        assertThat(a.get("/dashboard/data").statusCode()).isEqualTo(200);
        assertThat(none.get("/").statusCode())
                .as("the page itself holds no data")
                .isEqualTo(200);
        JsonNode r = a.ok("/v1/completions", completion("One day", 5, ", \"ignore_eos\": true"));
        a.ok("/v1/completions", completion("One day", 5, ", \"ignore_eos\": true"));
        int prompt = r.get("usage").get("prompt_tokens").asInt();
        assertThat(metric(a, "kvslim:api_key_requests_total{key=\"team-a\"}")).isEqualTo(2);
        assertThat(metric(a, "kvslim:api_key_prompt_tokens_total{key=\"team-a\"}"))
                .isEqualTo(2 * prompt);
        assertThat(metric(a, "kvslim:api_key_completion_tokens_total{key=\"team-a\"}"))
                .isEqualTo(10);
        assertThat(metric(a, "kvslim:api_key_requests_total{key=\"team-b\"}")).isZero();
    }

    @Test
    void metricsCanBeOpenedWhileTheApiKeepsItsKeys() throws Exception {
        TestClient none =
                start(ServerTest.config().withKeys(ApiKeys.parse("ops=sk-ops")).withMetricsPublic(true), null);
        assertThat(none.get("/metrics").statusCode()).isEqualTo(200);
        assertThat(none.get("/metrics").body()).contains("kvslim:");
        assertThat(none.get("/v1/models").statusCode()).isEqualTo(401);
        assertThat(none.get("/dashboard/data").statusCode()).isEqualTo(401);
    }

    @Test
    void aNonStreamingClientThatGoesAwayIsCancelled() throws Exception {
        // one step every 20 ms: 400 tokens would take 8 s or more
        TestClient client =
                start(ServerTest.config().withScheduling(new Scheduler.Options(16, 4, 4, Duration.ofMillis(20))), null);
        Socket gone = post(completion("Once upon a time", 400, ", \"n\": 2, \"ignore_eos\": true"));
        Thread.sleep(1000);
        assertThat(scheduler().pool().usedBlocks()).as("generating").isPositive();
        long closed = System.nanoTime();
        gone.close();
        while (scheduler().pool().usedBlocks() > 0 && System.nanoTime() - closed < 6_000_000_000L) {
            Thread.sleep(50);
        }
        assertThat(scheduler().pool().usedBlocks())
                .as("blocks still held 6 s after the client left")
                .isZero();
        assertThat(scheduler().stats().generatedTokens())
                .as("cancelled, not run to the end")
                .isLessThan(2 * 400);
        assertThat(metric(client, "kvslim:request_success_total{finished_reason=\"abort\",model_name=\"stories\"}"))
                .isEqualTo(2);
    }

    @Test
    void corsAnswersOnlyTheConfiguredOrigins() throws Exception {
        start(ServerTest.config().withCorsOrigins(List.of("https://app.example")), null);
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.util.function.BiFunction<String, String, java.net.http.HttpRequest> preflight = (origin, path) ->
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + server.port() + path))
                        .header("Origin", origin)
                        .header("Access-Control-Request-Method", "POST")
                        .method("OPTIONS", java.net.http.HttpRequest.BodyPublishers.noBody())
                        .build();
        var allowed = http.send(
                preflight.apply("https://app.example", "/v1/completions"),
                java.net.http.HttpResponse.BodyHandlers.discarding());
        assertThat(allowed.statusCode()).isEqualTo(204);
        assertThat(allowed.headers().firstValue("Access-Control-Allow-Origin")).hasValue("https://app.example");
        assertThat(allowed.headers().firstValue("Access-Control-Allow-Headers").orElse(""))
                .contains("Authorization", "Content-Type");
        var other = http.send(
                preflight.apply("https://evil.example", "/v1/completions"),
                java.net.http.HttpResponse.BodyHandlers.discarding());
        assertThat(other.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
        assertThat(other.statusCode()).isEqualTo(405);
        var health = http.send(
                java.net.http.HttpRequest.newBuilder(
                                java.net.URI.create("http://127.0.0.1:" + server.port() + "/health"))
                        .header("Origin", "https://app.example")
                        .build(),
                java.net.http.HttpResponse.BodyHandlers.discarding());
        assertThat(health.headers().firstValue("Access-Control-Allow-Origin")).hasValue("https://app.example");
        assertThatThrownBy(() -> ServerTest.config().withCorsOrigins(List.of("app.example/path")))
                .hasMessageContaining("a CORS origin is a scheme and host");
    }

    @Test
    void aKeyVariableThatNamesNoKeyIsAnErrorNotAnOpenServer() {
        for (String empty : new String[] {"", " ", ",", " , ,"}) {
            assertThatThrownBy(() -> ServeConfig.defaults(empty))
                    .as("'%s'", empty)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("KVSLIM_API_KEYS is set but names no key");
        }
        assertThat(ServeConfig.defaults(null).keys().required()).isFalse();
        assertThat(ServeConfig.defaults("ops=sk-1").keys().size()).isEqualTo(1);
    }

    @Test
    void aFullQueueIs503WithRetryAfterAndADisconnectFreesTheBlocks() throws Exception {
        TestClient client = start(paced(1, 1), null);
        // A runs (one at a time), B waits (a queue of one), C is refused. A's client is a bare socket, so that closing
        // it closes the connection at once (java.net.http may keep a connection open after its stream is closed)
        Socket a = post(completion("Once upon a time", 400, ", \"stream\": true, \"ignore_eos\": true"));
        BufferedReader events = new BufferedReader(new InputStreamReader(a.getInputStream(), StandardCharsets.UTF_8));
        assertThat(events.readLine()).isEqualTo("HTTP/1.1 200 OK");
        String line;
        do {
            line = events.readLine();
        } while (!line.contains("data: "));
        assertThat(scheduler().pool().usedBlocks()).isPositive();
        CompletableFuture<JsonNode> b = CompletableFuture.supplyAsync(() -> {
            try {
                return client.ok("/v1/completions", completion("One day", 3, ""));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        while (scheduler().stats().waiting() == 0) {
            Thread.sleep(2);
        }
        HttpResponse<String> c = client.post("/v1/completions", completion("The sun was", 3, ""));
        assertError(c, 503, null);
        assertThat(c.headers().firstValue("Retry-After")).hasValue("1");

        // A's client goes away: its sequence is cancelled, its blocks freed, and B runs
        a.close();
        assertThat(b.get().get("choices")).hasSize(1);
        awaitEmptyPool();
        assertThat(metric(client, "kvslim:request_success_total{finished_reason=\"abort\",model_name=\"stories\"}"))
                .isEqualTo(1);
        // A ended long before its 400 tokens (B adds 3)
        assertThat(metric(client, "kvslim:api_key_completion_tokens_total{key=\"anonymous\"}"))
                .isLessThan(100);
    }

    @Test
    void aBurstUnderATightBudgetCompletesEveryRequestCorrectlyWithinTheBudget() throws Exception {
        var c = stories.model().config();
        long blockBytes = 2L * c.headSize() * PagedKvCache.blockSizeFor(c.contextLength()) * Float.BYTES;
        long budget = 3 * c.layers() * c.kvHeads() * blockBytes; // three sequences of one block per head
        TestClient client = start(
                ServerTest.config()
                        .withKvBudget(budget)
                        .withScheduling(new Scheduler.Options(64, 16, 64, Duration.ZERO)),
                null);
        int maxTokens = PagedKvCache.blockSizeFor(c.contextLength()); // prompt + this outgrows one block: preemption
        List<String> expected = new ArrayList<>();
        for (String p : ServerTest.PROMPTS) {
            expected.add(client.ok("/v1/completions", completion(p, maxTokens, ", \"ignore_eos\": true"))
                    .get("choices")
                    .get(0)
                    .get("text")
                    .asString());
        }
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> texts = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                String p = ServerTest.PROMPTS[i % ServerTest.PROMPTS.length];
                boolean stream = i % 2 == 1;
                texts.add(pool.submit(() -> stream
                        ? streamedText(client, p, maxTokens)
                        : client.ok("/v1/completions", completion(p, maxTokens, ", \"ignore_eos\": true"))
                                .get("choices")
                                .get(0)
                                .get("text")
                                .asString()));
            }
            for (int i = 0; i < texts.size(); i++) {
                assertThat(texts.get(i).get()).as("client %d", i).isEqualTo(expected.get(i % expected.size()));
            }
        }
        assertThat(scheduler().stats().peakUsedBytes())
                .isLessThanOrEqualTo(budget)
                .isGreaterThan(budget / 2);
        assertThat(metric(client, "kvslim:num_preemptions_total{model_name=\"stories\"}"))
                .isPositive();
        awaitEmptyPool();
    }

    private static String streamedText(TestClient client, String prompt, int maxTokens) throws Exception {
        List<String> events = client.stream(
                "/v1/completions", completion(prompt, maxTokens, ", \"stream\": true, \"ignore_eos\": true"));
        StringBuilder text = new StringBuilder();
        for (String e : events.subList(0, events.size() - 1)) {
            text.append(TestClient.JSON
                    .readTree(e)
                    .get("choices")
                    .get(0)
                    .get("text")
                    .asString());
        }
        return text.toString();
    }

    @Test
    void shutdownRefusesNewWorkAndCancelsWhatOutlivesTheGrace() throws Exception {
        TestClient client = start(paced(4, 4).withShutdownGrace(Duration.ofMillis(500)), null);
        HttpResponse<InputStream> a = client.open(
                "/v1/completions",
                completion("Once upon a time", 400, ", \"stream\": true, \"ignore_eos\": true"),
                "text/event-stream");
        CompletableFuture<List<String>> events = CompletableFuture.supplyAsync(() -> {
            try {
                return TestClient.events(a.body());
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        while (scheduler().stats().running() == 0) {
            Thread.sleep(2);
        }
        KvSlimServer closing = server;
        Thread stopper = Thread.ofVirtual().start(closing::close);
        while (client.get("/ready").statusCode() == 200) {
            Thread.sleep(2);
        }
        assertError(client.post("/v1/completions", completion("One day", 3, "")), 503, null);
        List<String> got = events.get();
        assertThat(got.getLast()).isEqualTo("[DONE]");
        JsonNode last = TestClient.JSON.readTree(got.get(got.size() - 2));
        assertThat(last.get("choices").get(0).get("finish_reason").asString()).isEqualTo("abort");
        stopper.join();
        assertThat(scheduler().pool().usedBlocks()).isZero();
        server = null;
    }
}
