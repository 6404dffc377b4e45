package dev.kvslim.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.chat.ChatTemplate;
import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.serve.auth.ApiKeys;
import dev.kvslim.serve.metrics.ServerMetrics;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The OpenAI-compatible API end to end, in process on an ephemeral port, with stories260K: served once as
 * {@code stories} with a small chat template, as {@code stories-raw} without one, and as {@code stories-think} with a
 * thinking model's template.
 */
class ServerTest {

    /**
     * The messages' contents joined by spaces; with tools, their names first, an assistant's tool calls and the tool
     * results written as Hermes templates (Qwen2.5's) write them.
     */
    static final String TEMPLATE = "{% if tools %}[tools:{% for t in tools %} {{ t['function']['name'] }}{% endfor %}]"
            + " {% endif %}{% for m in messages %}{% if m['role'] == 'tool' %}<tool_response>{{ m['content'] }}"
            + "</tool_response>{% elif m['tool_calls'] %}{% for c in m['tool_calls'] %}<tool_call>{\"name\": \""
            + "{{ c['function']['name'] }}\", \"arguments\": {{ c['function']['arguments'] | tojson }}{{ '}' }}"
            + "</tool_call>{% endfor %}{% else %}{{ m['content'] }}{% endif %}{% if not loop.last %} {% endif %}"
            + "{% endfor %}";
    /**
     * A thinking model's template, as Qwen3's opens the thinking: the generation prompt ends with {@code <think>},
     * or with an empty thinking block when {@code enable_thinking} is false.
     */
    static final String THINKING_TEMPLATE = "{% for m in messages %}{{ m['content'] }} {% endfor %}"
            + "{% if add_generation_prompt %}{% if enable_thinking is defined and not enable_thinking %}"
            + "<think></think>{% else %}<think>{% endif %}{% endif %}";

    static final String[] PROMPTS = {
        "Once upon a time", "The little dog", "Lily and Ben went to the park", "One day",
        "There was a big red ball that", "Tom liked to", "The sun was", "A girl named Sue",
    };

    static LoadedModel stories;
    static KvSlimServer server;
    static TestClient client;

    @BeforeAll
    static void start() {
        LoadedModel raw =
                ModelLoader.load(Fixtures.path("stories260K/stories260K.bin"), Fixtures.path("stories260K/tok512.bin"));
        stories = new LoadedModel(
                raw.path(),
                raw.format(),
                raw.model(),
                raw.tokenizer(),
                raw.generation(),
                ChatTemplate.of("test", TEMPLATE, null, null));
        Map<String, LoadedModel> models = new LinkedHashMap<>();
        models.put("stories", stories);
        models.put("stories-raw", raw);
        models.put(
                "stories-think",
                new LoadedModel(
                        raw.path(),
                        raw.format(),
                        raw.model(),
                        raw.tokenizer(),
                        raw.generation(),
                        ChatTemplate.of("thinking", THINKING_TEMPLATE, null, null)));
        server = KvSlimServer.start(models, config().withMaxBodyBytes(64 * 1024));
        client = new TestClient(server.port(), null);
    }

    static ServeConfig config() {
        return ServeConfig.defaults()
                .withPort(0)
                .withKeys(ApiKeys.OPEN)
                .withKvBudget(1L << 26)
                .withShutdownGrace(Duration.ofSeconds(5));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static String completion(String prompt, int maxTokens, String extra) {
        return "{\"model\": \"stories\", \"prompt\": " + TestClient.JSON.valueToTree(prompt) + ", \"max_tokens\": "
                + maxTokens + ", \"temperature\": 0" + extra + "}";
    }

    @Test
    void completionAnswersInOpenAiShapeWithUsage() throws Exception {
        JsonNode r = client.ok("/v1/completions", completion("Once upon a time", 30, ""));
        assertThat(r.get("object").asString()).isEqualTo("text_completion");
        assertThat(r.get("id").asString()).startsWith("cmpl-");
        assertThat(r.get("model").asString()).isEqualTo("stories");
        JsonNode choice = r.get("choices").get(0);
        assertThat(choice.get("text").asString()).isNotBlank();
        assertThat(choice.get("finish_reason").asString()).isIn("stop", "length");
        JsonNode usage = r.get("usage");
        int promptTokens = stories.tokenizer().encode("Once upon a time", true).length;
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(promptTokens);
        assertThat(usage.get("completion_tokens").asInt()).isBetween(1, 30);
        assertThat(usage.get("total_tokens").asInt())
                .isEqualTo(promptTokens + usage.get("completion_tokens").asInt());
        // per-request timings, in llama.cpp's server's shape
        JsonNode timings = r.get("timings");
        int cached = usage.get("prompt_tokens_details").get("cached_tokens").asInt();
        assertThat(timings.get("cache_n").asInt()).isEqualTo(cached);
        assertThat(timings.get("prompt_n").asInt()).isEqualTo(promptTokens - cached);
        assertThat(timings.get("predicted_n").asInt())
                .isEqualTo(usage.get("completion_tokens").asInt());
        assertThat(timings.get("prompt_ms").asDouble()).isPositive();
        assertThat(timings.get("queue_ms").asDouble()).isNotNegative();
        assertThat(timings.get("predicted_ms").asDouble()).isNotNegative();
        if (timings.get("predicted_n").asInt() > 1) {
            assertThat(timings.get("predicted_per_second").asDouble()).isPositive();
        }
    }

    @Test
    void streamingSendsTheSameTextAsSseChunksWhateverTheAcceptHeader() throws Exception {
        String whole = client.ok("/v1/completions", completion("The little dog", 40, ""))
                .get("choices")
                .get(0)
                .get("text")
                .asString();
        List<String> events = client.stream(
                "/v1/completions",
                completion("The little dog", 40, ", \"stream\": true, \"stream_options\": {\"include_usage\": true}"));
        assertThat(events.getLast()).isEqualTo("[DONE]");
        StringBuilder text = new StringBuilder();
        List<JsonNode> chunks = events.subList(0, events.size() - 1).stream()
                .map(TestClient.JSON::readTree)
                .toList();
        for (JsonNode c : chunks.subList(0, chunks.size() - 1)) {
            assertThat(c.get("object").asString()).isEqualTo("text_completion");
            text.append(c.get("choices").get(0).get("text").asString());
        }
        assertThat(text.toString()).isEqualTo(whole);
        JsonNode finalChoice = chunks.get(chunks.size() - 2).get("choices").get(0);
        assertThat(finalChoice.get("finish_reason").isNull()).isFalse();
        for (JsonNode c : chunks.subList(0, chunks.size() - 2)) {
            assertThat(c.get("choices").get(0).get("finish_reason").isNull()).isTrue();
        }
        JsonNode usage = chunks.getLast();
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.get("usage").get("completion_tokens").asInt()).isPositive();
    }

    @Test
    void chatCompletionsStreamAndNot() throws Exception {
        String body =
                "{\"model\": \"stories\", \"messages\": [{\"role\": \"user\", \"content\": \"Once upon a time\"}],"
                        + " \"max_completion_tokens\": 25, \"temperature\": 0";
        JsonNode r = client.ok("/v1/chat/completions", body + "}");
        assertThat(r.get("object").asString()).isEqualTo("chat.completion");
        JsonNode message = r.get("choices").get(0).get("message");
        assertThat(message.get("role").asString()).isEqualTo("assistant");
        String content = message.get("content").asString();
        assertThat(content).isNotEmpty();

        List<String> events = client.stream("/v1/chat/completions", body + ", \"stream\": true}");
        assertThat(events.getLast()).isEqualTo("[DONE]");
        List<JsonNode> chunks = events.subList(0, events.size() - 1).stream()
                .map(TestClient.JSON::readTree)
                .toList();
        JsonNode first = chunks.getFirst().get("choices").get(0);
        assertThat(chunks.getFirst().get("object").asString()).isEqualTo("chat.completion.chunk");
        assertThat(first.get("delta").get("role").asString()).isEqualTo("assistant");
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks) {
            text.append(c.get("choices").get(0).get("delta").path("content").asString(""));
        }
        assertThat(text.toString()).isEqualTo(content);
        assertThat(chunks.getLast().get("choices").get(0).get("finish_reason").asString())
                .isEqualTo(r.get("choices").get(0).get("finish_reason").asString());
    }

    @Test
    void chatWithoutATemplateIsA400NamingTheProblem() throws Exception {
        HttpResponse<String> r = client.post(
                "/v1/chat/completions",
                "{\"model\": \"stories-raw\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = TestClient.JSON.readTree(r.body()).get("error");
        assertThat(error.get("message").asString()).contains("no chat template");
        assertThat(error.get("param").asString()).isEqualTo("messages");
    }

    @Test
    void stopStringsEndTheTextBeforeThem() throws Exception {
        String whole = client.ok("/v1/completions", completion("Once upon a time", 60, ""))
                .get("choices")
                .get(0)
                .get("text")
                .asString();
        String stop = whole.substring(12, 16);
        JsonNode r = client.ok(
                "/v1/completions",
                completion(
                        "Once upon a time", 60, ", \"stop\": [\"zzzz\", " + TestClient.JSON.valueToTree(stop) + "]"));
        assertThat(r.get("choices").get(0).get("text").asString()).isEqualTo(whole.substring(0, whole.indexOf(stop)));
        assertThat(r.get("choices").get(0).get("finish_reason").asString()).isEqualTo("stop");
    }

    @Test
    void nChoicesWithASeedAreReproducibleAndDiffer() throws Exception {
        String body = "{\"model\": \"stories\", \"prompt\": \"Lily\", \"max_tokens\": 30, \"temperature\": 1.0,"
                + " \"seed\": 7, \"n\": 3, \"ignore_eos\": true}";
        JsonNode a = client.ok("/v1/completions", body);
        JsonNode b = client.ok("/v1/completions", body);
        assertThat(a.get("choices")).hasSize(3);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            assertThat(a.get("choices").get(i).get("index").asInt()).isEqualTo(i);
            texts.add(a.get("choices").get(i).get("text").asString());
            assertThat(b.get("choices").get(i).get("text").asString()).isEqualTo(texts.get(i));
        }
        assertThat(texts).doesNotHaveDuplicates();
        assertThat(a.get("usage").get("completion_tokens").asInt()).isEqualTo(90);
        JsonNode other = client.ok("/v1/completions", body.replace("\"seed\": 7", "\"seed\": 8"));
        assertThat(other.get("choices").get(0).get("text").asString()).isNotEqualTo(texts.getFirst());
    }

    @Test
    void concurrentRequestsGetWhatTheyGetOneAtATime() throws Exception {
        List<String> sequential = new ArrayList<>();
        for (String p : PROMPTS) {
            sequential.add(client.ok("/v1/completions", completion(p, 50, ""))
                    .get("choices")
                    .get(0)
                    .get("text")
                    .asString());
        }
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> futures = new ArrayList<>();
            for (int round = 0; round < 2; round++) {
                for (String p : PROMPTS) {
                    futures.add(pool.submit(() -> client.ok("/v1/completions", completion(p, 50, ""))
                            .get("choices")
                            .get(0)
                            .get("text")
                            .asString()));
                }
            }
            for (int i = 0; i < futures.size(); i++) {
                assertThat(futures.get(i).get())
                        .as(PROMPTS[i % PROMPTS.length])
                        .isEqualTo(sequential.get(i % PROMPTS.length));
            }
        }
    }

    @Test
    void logprobsInBothShapes() throws Exception {
        JsonNode c = client.ok("/v1/completions", completion("One day", 5, ", \"logprobs\": 2, \"ignore_eos\": true"));
        JsonNode lp = c.get("choices").get(0).get("logprobs");
        assertThat(lp.get("tokens")).hasSize(5);
        assertThat(lp.get("token_logprobs").get(0).asDouble()).isNegative();
        assertThat(lp.get("top_logprobs").get(0).size()).isBetween(1, 2);
        JsonNode chat = client.ok(
                "/v1/chat/completions",
                "{\"model\": \"stories\", \"messages\": [{\"role\": \"user\", \"content\": \"One day\"}],"
                        + " \"max_tokens\": 4, \"temperature\": 0, \"logprobs\": true, \"top_logprobs\": 3, \"ignore_eos\": true}");
        JsonNode content = chat.get("choices").get(0).get("logprobs").get("content");
        assertThat(content).hasSize(4);
        assertThat(content.get(0).get("top_logprobs")).hasSize(3);
        assertThat(content.get(0).get("logprob").asDouble())
                .isEqualTo(
                        content.get(0).get("top_logprobs").get(0).get("logprob").asDouble());
    }

    @Test
    void apiDetailsAsOpenAiAndVllmBehave() throws Exception {
        // max_tokens absent: 16 for a completion
        JsonNode c = client.ok(
                "/v1/completions",
                "{\"model\": \"stories\", \"prompt\": \"One day\", \"temperature\": 0, \"ignore_eos\": true}");
        assertThat(c.get("usage").get("completion_tokens").asInt()).isEqualTo(16);
        // a server of several models needs the model named
        assertError(client.post("/v1/completions", "{\"prompt\": \"One day\", \"max_tokens\": 2}"), 400, "model");
        // streamed text_offset counts from the start of the choice's text, as the whole response's does
        JsonNode whole =
                client.ok("/v1/completions", completion("One day", 8, ", \"logprobs\": 1, \"ignore_eos\": true"));
        List<Integer> expected = new ArrayList<>();
        whole.get("choices").get(0).get("logprobs").get("text_offset").forEach(o -> expected.add(o.asInt()));
        List<Integer> streamed = new ArrayList<>();
        for (String event : client.stream(
                "/v1/completions",
                completion("One day", 8, ", \"logprobs\": 1, \"ignore_eos\": true, \"stream\": true"))) {
            if (event.equals("[DONE]")) {
                continue;
            }
            JsonNode lp = TestClient.JSON.readTree(event).get("choices").get(0).get("logprobs");
            if (lp != null && !lp.isNull()) {
                lp.get("text_offset").forEach(o -> streamed.add(o.asInt()));
            }
        }
        assertThat(streamed).isEqualTo(expected).hasSize(8);
        assertThat(expected.getLast()).isPositive();
        // where the models live on the server is not shown
        JsonNode models = TestClient.JSON.readTree(client.get("/v1/models").body());
        assertThat(models.get("data").get(0).get("root").asString()).isEqualTo("stories260K.bin");
        // fields that would change the output and are not implemented are named, not ignored
        for (String field : new String[] {
            "\"echo\": true",
            "\"best_of\": 3",
            "\"presence_penalty\": 0.5",
            "\"frequency_penalty\": 1",
            "\"guided_grammar\": \"root ::= x\"",
            "\"functions\": [{\"name\": \"f\"}]"
        }) {
            String name = field.substring(1, field.indexOf('"', 1));
            assertError(client.post("/v1/completions", completion("x", 2, ", " + field)), 400, name);
        }
        // their neutral values, which clients send by default, are fine
        client.ok(
                "/v1/completions",
                completion(
                        "x",
                        2,
                        ", \"echo\": false, \"best_of\": 1, \"presence_penalty\": 0, \"frequency_penalty\": 0"
                                + ", \"logit_bias\": {}, \"response_format\": {\"type\": \"text\"}"));
    }

    @Test
    void gzipBodiesAreReadAndBadOnesNamed() throws Exception {
        String body = completion("One day", 4, "");
        java.io.ByteArrayOutputStream zipped = new java.io.ByteArrayOutputStream();
        try (var gz = new java.util.zip.GZIPOutputStream(zipped)) {
            gz.write(body.getBytes(StandardCharsets.UTF_8));
        }
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.util.function.Function<byte[], HttpResponse<String>> post = bytes -> {
            try {
                return http.send(
                        java.net.http.HttpRequest.newBuilder(
                                        java.net.URI.create("http://127.0.0.1:" + server.port() + "/v1/completions"))
                                .header("Content-Type", "application/json")
                                .header("Content-Encoding", "gzip")
                                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(bytes))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        HttpResponse<String> ok = post.apply(zipped.toByteArray());
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(TestClient.JSON
                        .readTree(ok.body())
                        .get("choices")
                        .get(0)
                        .get("text")
                        .asString())
                .isEqualTo(client.ok("/v1/completions", body)
                        .get("choices")
                        .get(0)
                        .get("text")
                        .asString());
        // not gzip at all: a 400 that says so, not an empty one
        HttpResponse<String> bad = post.apply(body.getBytes(StandardCharsets.UTF_8));
        assertError(bad, 400, null, "could not be read");
        // a small body that expands beyond the limit (64 KiB here) is a 413
        java.io.ByteArrayOutputStream bomb = new java.io.ByteArrayOutputStream();
        try (var gz = new java.util.zip.GZIPOutputStream(bomb)) {
            gz.write(new byte[1 << 20]);
        }
        assertThat(bomb.size()).isLessThan(4096);
        assertError(post.apply(bomb.toByteArray()), 413, null);
    }

    @Test
    void tokenizeAndDetokenizeAsVllm() throws Exception {
        JsonNode t = client.ok("/tokenize", "{\"model\": \"stories\", \"prompt\": \"Once upon a time\"}");
        int[] expected = stories.tokenizer().encode("Once upon a time", true);
        assertThat(t.get("count").asInt()).isEqualTo(expected.length);
        assertThat(t.get("max_model_len").asInt())
                .isEqualTo(stories.model().config().contextLength());
        List<Integer> ids = new ArrayList<>();
        t.get("tokens").forEach(x -> ids.add(x.asInt()));
        assertThat(ids)
                .containsExactly(java.util.Arrays.stream(expected).boxed().toArray(Integer[]::new));
        assertThat(t.get("token_strs").isNull()).isTrue();
        JsonNode strs = client.ok(
                "/tokenize",
                "{\"prompt\": \"a cat\", \"add_special_tokens\": false, \"return_token_strs\": true,"
                        + " \"model\": \"stories\"}");
        assertThat(strs.get("token_strs").size()).isEqualTo(strs.get("count").asInt());
        // a chat's count is what a chat completion reports as its prompt tokens
        String messages = "[{\"role\": \"user\", \"content\": \"The little dog\"}]";
        int chatTokens = client.ok("/tokenize", "{\"model\": \"stories\", \"messages\": " + messages + "}")
                .get("count")
                .asInt();
        JsonNode chat = client.ok(
                "/v1/chat/completions", "{\"model\": \"stories\", \"messages\": " + messages + ", \"max_tokens\": 2}");
        assertThat(chat.get("usage").get("prompt_tokens").asInt()).isEqualTo(chatTokens);
        JsonNode back = client.ok("/detokenize", "{\"model\": \"stories\", \"tokens\": " + t.get("tokens") + "}");
        assertThat(back.get("prompt").asString()).isEqualTo("Once upon a time");
        assertError(client.post("/detokenize", "{\"model\": \"stories\", \"tokens\": [1, 99999]}"), 400, "tokens");
        assertError(client.post("/tokenize", "{\"model\": \"stories\"}"), 400, "prompt");
    }

    @Test
    void logitBiasShiftsTheChoices() throws Exception {
        JsonNode greedy = client.ok("/v1/completions", completion("One day", 6, ", \"logprobs\": 0"));
        String first = greedy.get("choices")
                .get(0)
                .get("logprobs")
                .get("tokens")
                .get(0)
                .asString();
        // every token that prints as the greedy first one (a piece and its byte token may both)
        List<String> bans = new ArrayList<>();
        for (int id = 0; id < stories.tokenizer().vocabSize(); id++) {
            if (new String(stories.tokenizer().decodePiece(id, id), StandardCharsets.UTF_8).equals(first)) {
                bans.add("\"" + id + "\": -100");
            }
        }
        // +100 on one token: every token is that one; -100 on the greedy first token: another comes first
        int forced = stories.tokenizer().encode(" cat", false)[0];
        String text = client.ok(
                        "/v1/completions",
                        completion("One day", 6, ", \"ignore_eos\": true, \"logit_bias\": {\"" + forced + "\": 100}"))
                .get("choices")
                .get(0)
                .get("text")
                .asString();
        String piece = new String(stories.tokenizer().decodePiece(forced, forced), StandardCharsets.UTF_8);
        assertThat(text).isEqualTo(piece.repeat(6));
        String banned = client.ok(
                        "/v1/completions",
                        completion(
                                "One day", 6, ", \"logprobs\": 0, \"logit_bias\": {" + String.join(", ", bans) + "}"))
                .get("choices")
                .get(0)
                .get("logprobs")
                .get("tokens")
                .get(0)
                .asString();
        assertThat(banned).isNotEqualTo(first);
        assertError(
                client.post("/v1/completions", completion("x", 2, ", \"logit_bias\": {\"100000\": 1}")),
                400,
                "logit_bias");
        assertError(
                client.post("/v1/completions", completion("x", 2, ", \"logit_bias\": {\"5\": 101}")),
                400,
                "logit_bias");
        assertError(
                client.post("/v1/completions", completion("x", 2, ", \"logit_bias\": {\"x\": 1}")), 400, "logit_bias");
    }

    @Test
    void httpEdgesAreAnsweredPlainly() throws Exception {
        // a POST that is not JSON (what a web page can send without a CORS preflight) is a 415
        assertThat(raw("POST", "/v1/completions", "text/plain", null, completion("x", 2, "")))
                .startsWith("HTTP/1.1 415");
        assertThat(raw("POST", "/v1/completions", "application/x-www-form-urlencoded", null, "prompt=x"))
                .startsWith("HTTP/1.1 415");
        assertThat(raw("POST", "/v1/completions", "application/json; charset=utf-8", null, completion("x", 2, "")))
                .startsWith("HTTP/1.1 200");
        // a known path with another method is a 405 naming the allowed ones; HEAD works where GET does
        assertThat(raw("GET", "/v1/completions", null, null, null))
                .startsWith("HTTP/1.1 405")
                .containsIgnoringCase("allow: POST");
        assertThat(raw("DELETE", "/health", null, null, null))
                .startsWith("HTTP/1.1 405")
                .containsIgnoringCase("allow: GET, HEAD");
        assertThat(raw("HEAD", "/health", null, null, null)).startsWith("HTTP/1.1 200");
        assertThat(raw("HEAD", "/ready", null, null, null)).startsWith("HTTP/1.1 200");
        // a bad chunk size, or a body shorter than its Content-Length, is the client's mistake: once the client stops
        // sending, it gets a 400 (not a 500 with a stack trace in the log, and not silence)
        for (String framing : new String[] {
            "Transfer-Encoding: chunked\r\n\r\nzz\r\n", "Content-Length: 100\r\n\r\n{\"prompt\": \"x\"}"
        }) {
            try (java.net.Socket s = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), server.port())) {
                s.setSoTimeout(10_000);
                s.getOutputStream()
                        .write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        + "Content-Type: application/json\r\n" + framing)
                                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                s.shutdownOutput();
                String status = new java.io.BufferedReader(new java.io.InputStreamReader(
                                s.getInputStream(), java.nio.charset.StandardCharsets.US_ASCII))
                        .readLine();
                assertThat(status).as(framing).isEqualTo("HTTP/1.1 400 Bad Request");
            }
        }
    }

    /** One request on its own connection, written by hand; returns the response's head and body as text. */
    private static String raw(String method, String path, String type, String encoding, String body) throws Exception {
        try (java.net.Socket s = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), server.port())) {
            s.setSoTimeout(10_000);
            byte[] content = body == null ? new byte[0] : body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            StringBuilder head = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            if (type != null) {
                head.append("Content-Type: ").append(type).append("\r\n");
            }
            if (encoding != null) {
                head.append("Content-Encoding: ").append(encoding).append("\r\n");
            }
            if (body != null) {
                head.append("Content-Length: ").append(content.length).append("\r\n");
            }
            head.append("Connection: close\r\n\r\n");
            s.getOutputStream().write(head.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            s.getOutputStream().write(content);
            s.getOutputStream().flush();
            // the head, then a body of its Content-Length (the server may keep the connection open after it)
            java.io.InputStream in = s.getInputStream();
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            while (!got.toString(java.nio.charset.StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    break;
                }
                got.write(b);
            }
            String response = got.toString(java.nio.charset.StandardCharsets.UTF_8);
            java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)")
                    .matcher(response);
            if (!method.equals("HEAD") && length.find()) {
                response += new String(
                        in.readNBytes(Integer.parseInt(length.group(1))), java.nio.charset.StandardCharsets.UTF_8);
            }
            return response;
        }
    }

    @Test
    void badRequestsGetOpenAiErrorsWithTheirStatus() throws Exception {
        assertError(client.post("/v1/completions", "{\"prompt\": \"x\", "), 400, null);
        assertError(client.post("/v1/completions", "[1, 2]"), 400, null);
        assertError(client.post("/v1/completions", "{\"max_tokens\": 5}"), 400, "prompt");
        assertError(
                client.post(
                        "/v1/completions",
                        completion("x", 5, "").replace("\"temperature\": 0", "\"temperature\": \"hot\"")),
                400,
                "temperature");
        assertError(client.post("/v1/completions", completion("x", 0, "")), 400, "max_tokens");
        assertError(client.post("/v1/completions", completion("x", 5, ", \"stop\": 3")), 400, "stop");
        // a request may not make the server build an automaton of any size: many stop strings, or long ones
        String many = TestClient.JSON
                .valueToTree(java.util.Collections.nCopies(65, "stop"))
                .toString();
        assertError(client.post("/v1/completions", completion("x", 5, ", \"stop\": " + many)), 400, "stop");
        String longOne = TestClient.JSON.valueToTree("z".repeat(16 * 1024 + 1)).toString();
        assertError(client.post("/v1/completions", completion("x", 5, ", \"stop\": " + longOne)), 400, "stop");
        assertError(client.post("/v1/completions", completion("x", 5, ", \"n\": 0")), 400, "n");
        assertError(
                client.post("/v1/chat/completions", "{\"messages\": [{\"content\": \"hi\"}]}"),
                400,
                "messages[0].role");
        assertError(
                client.post("/v1/completions", completion("x", 5, "").replace("\"stories\"", "\"gpt-4\"")),
                404,
                "model");
        assertError(client.post("/v1/completions", completion("x".repeat(70_000), 5, "")), 413, null);
        assertError(
                client.post("/v1/completions", completion("Once upon a time there was a dog. ".repeat(60), 5, "")),
                400,
                "prompt");
        // as vLLM: asking for more tokens than the context leaves is a 400, not a silently shorter answer
        assertError(client.post("/v1/completions", completion("One day", 600, "")), 400, "max_tokens");
        assertError(
                client.post(
                        "/v1/completions",
                        completion("One day", 5, "")
                                .replace("\"max_tokens\"", "\"max_completion_tokens\"")
                                .replace(": 5,", ": 100000,")),
                400,
                "max_completion_tokens");
        // and the server still answers well-formed requests
        assertThat(client.ok("/v1/completions", completion("One day", 5, "")).get("choices"))
                .hasSize(1);
    }

    static void assertError(HttpResponse<String> r, int status, String param) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        JsonNode error = TestClient.JSON.readTree(r.body()).get("error");
        assertThat(error.get("message").asString()).isNotBlank();
        assertThat(error.get("type").asString()).isNotBlank();
        assertThat(error.has("code")).isTrue();
        if (param != null) {
            assertThat(error.get("param").asString()).isEqualTo(param);
        }
    }

    /** As above, the error's message containing {@code message}. */
    static void assertError(HttpResponse<String> r, int status, String param, String message) {
        assertError(r, status, param);
        assertThat(TestClient.JSON
                        .readTree(r.body())
                        .get("error")
                        .get("message")
                        .asString())
                .contains(message);
    }

    @Test
    void modelsHealthReadyAndMetrics() throws Exception {
        JsonNode models = TestClient.JSON.readTree(client.get("/v1/models").body());
        assertThat(models.get("data").findValuesAsString("id"))
                .containsExactly("stories", "stories-raw", "stories-think");
        assertThat(client.get("/health").statusCode()).isEqualTo(200);
        assertThat(client.get("/ready").statusCode()).isEqualTo(200);
        client.ok("/v1/completions", completion("One day", 5, ""));
        HttpResponse<String> metrics = client.get("/metrics");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body())
                .contains(
                        "kvslim:num_requests_running{model_name=\"stories\"}",
                        "kvslim:num_requests_waiting{model_name=\"stories\"}",
                        "kvslim:kv_cache_usage_perc{model_name=\"stories\"}",
                        "kvslim:kv_cache_usage_bytes{model_name=\"stories\"}",
                        "kvslim:kv_compression_ratio{model_name=\"stories\"}",
                        // stories260K: 2 x 5 layers x 4 KV heads x 8 channels x 4 bytes (F32)
                        "kvslim:kv_bytes_per_token{model_name=\"stories\"} 1280.0",
                        "kvslim:kv_compression_ratio_per_layer{layer=\"4\",model_name=\"stories\"}",
                        "kvslim:prompt_tokens_total{model_name=\"stories\"}",
                        "kvslim:generation_tokens_total{model_name=\"stories\"}",
                        "kvslim:time_to_first_token_seconds_bucket{model_name=\"stories\",le=\"0.001\"}",
                        "kvslim:inter_token_latency_seconds_count{model_name=\"stories\"}",
                        "kvslim:e2e_request_latency_seconds_sum{model_name=\"stories\"}",
                        "kvslim:request_success_total{finished_reason=",
                        "kvslim:api_key_requests_total{key=\"anonymous\"}",
                        // the gauges gateways read, also under vLLM's names (metrics_names both, the default)
                        "vllm:num_requests_running{model_name=\"stories\"}",
                        "vllm:num_requests_waiting{model_name=\"stories\"}",
                        "vllm:kv_cache_usage_perc{model_name=\"stories\"}",
                        "vllm:gpu_cache_usage_perc{model_name=\"stories\"}",
                        "kvslim:prefix_cache_kept_bytes{model_name=\"stories\"}");
        assertThat(metrics.body())
                .containsPattern("vllm:cache_config_info\\{block_size=\"\\d+\",cache_dtype=\"f32\","
                        + "enable_prefix_caching=\"true\",model_name=\"stories\",num_gpu_blocks=\"\\d+\"} 1");
    }

    @Test
    void metricsNamesPickOursVllmsOrBoth() throws Exception {
        for (ServerMetrics.Names names : ServerMetrics.Names.values()) {
            try (KvSlimServer s = KvSlimServer.start(Map.of("stories", stories), config().withMetricsNames(names))) {
                TestClient c = new TestClient(s.port(), null);
                c.ok("/v1/completions", completion("One day", 3, ""));
                String text = c.get("/metrics").body();
                boolean ours = names != ServerMetrics.Names.VLLM, vllm = names != ServerMetrics.Names.KVSLIM;
                for (String gauge :
                        new String[] {"num_requests_running", "num_requests_waiting", "kv_cache_usage_perc"}) {
                    assertThat(text.contains("kvslim:" + gauge + "{"))
                            .as("%s kvslim:%s", names, gauge)
                            .isEqualTo(ours);
                    assertThat(text.contains("vllm:" + gauge + "{"))
                            .as("%s vllm:%s", names, gauge)
                            .isEqualTo(vllm);
                }
                assertThat(text.contains("vllm:cache_config_info")).isEqualTo(vllm);
                // after the answer no sequence holds blocks: the cache kept for prefix caching is not usage
                String usage = (vllm ? "vllm:" : "kvslim:") + "kv_cache_usage_perc{model_name=\"stories\"} ";
                assertThat(text).contains(usage + "0.0");
                assertThat(text).doesNotContain("kvslim:prefix_cache_kept_bytes{model_name=\"stories\"} 0.0");
            }
        }
    }
}
