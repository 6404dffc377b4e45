package dev.kvslim.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.chat.ChatTemplate;
import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.serve.schedule.Scheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;

/**
 * Prefix caching end to end: an 8-turn conversation prefills only what each turn adds (counted by the server's
 * {@code prompt_tokens_details.cached_tokens} and its prefix-cache metrics), and answers exactly as a server without
 * prefix caching does. The template writes the turns one after the other, the answers as the model wrote them (as
 * real templates do between their turn markers).
 */
class PrefixCachingTest {

    static KvSlimServer cached;
    static KvSlimServer uncached;
    static KvSlimServer slow; // 5 ms between steps: a request stays running while another arrives

    @BeforeAll
    static void start() {
        LoadedModel raw =
                ModelLoader.load(Fixtures.path("stories260K/stories260K.bin"), Fixtures.path("stories260K/tok512.bin"));
        LoadedModel stories = new LoadedModel(
                raw.path(),
                raw.format(),
                raw.model(),
                raw.tokenizer(),
                raw.generation(),
                ChatTemplate.of("turns", "{% for m in messages %}{{ m['content'] }}{% endfor %}", null, null));
        cached = KvSlimServer.start(Map.of("stories", stories), ServerTest.config());
        uncached = KvSlimServer.start(
                Map.of("stories", stories),
                ServerTest.config().withScheduling(new Scheduler.Options(256, 64, 256, Duration.ZERO, false)));
        slow = KvSlimServer.start(
                Map.of("stories", stories),
                ServerTest.config().withScheduling(new Scheduler.Options(256, 64, 256, Duration.ofMillis(5), true)));
    }

    @AfterAll
    static void stop() {
        cached.close();
        uncached.close();
        slow.close();
    }

    @Test
    void eachTurnOfAConversationPrefillsOnlyWhatItAdds() throws Exception {
        TestClient withCache = new TestClient(cached.port(), null);
        TestClient without = new TestClient(uncached.port(), null);
        String[] turns = {
            "Once upon a time there was a little girl named Lily.",
            " She liked to play in the park.",
            " One day she saw a big dog.",
            " The dog was very friendly.",
            " They played with a red ball.",
            " Then it started to rain.",
            " Lily ran home to her mom.",
            " Her mom made her a warm cup of milk."
        };
        ArrayNode messages = TestClient.JSON.createArrayNode();
        List<Integer> prefilled = new ArrayList<>();
        for (int i = 0; i < turns.length; i++) {
            messages.addObject().put("role", "user").put("content", turns[i]);
            String body =
                    "{\"model\": \"stories\", \"max_tokens\": 12, \"temperature\": 0, \"messages\": " + messages + "}";
            JsonNode r = withCache.ok("/v1/chat/completions", body);
            JsonNode fresh = without.ok("/v1/chat/completions", body);
            String answer =
                    r.get("choices").get(0).get("message").get("content").asString();
            assertThat(answer)
                    .as("turn %d answers as without prefix caching", i + 1)
                    .isEqualTo(fresh.get("choices")
                            .get(0)
                            .get("message")
                            .get("content")
                            .asString());
            JsonNode usage = r.get("usage");
            int prompt = usage.get("prompt_tokens").asInt();
            int reused = usage.get("prompt_tokens_details").get("cached_tokens").asInt();
            assertThat(fresh.get("usage")
                            .get("prompt_tokens_details")
                            .get("cached_tokens")
                            .asInt())
                    .isZero();
            prefilled.add(prompt - reused);
            if (i > 0) {
                // the new message, the previous answer's last token (sampled, never fed) and a token where texts join
                int added = withCache
                        .ok(
                                "/tokenize",
                                "{\"model\": \"stories\", \"prompt\": " + TestClient.JSON.valueToTree(turns[i])
                                        + ", \"add_special_tokens\": false}")
                        .get("count")
                        .asInt();
                assertThat(prompt - reused)
                        .as(
                                "turn %d: %d prompt tokens, %d of them reused; the new message is %d",
                                i + 1, prompt, reused, added)
                        .isBetween(1, added + 2);
            }
            messages.addObject().put("role", "assistant").put("content", answer);
        }
        String metrics = withCache.get("/metrics").body();
        assertThat(metric(metrics, "kvslim:prefix_cache_hits_total")).isPositive();
        assertThat(metric(metrics, "kvslim:prefix_cache_queries_total"))
                .isGreaterThan(metric(metrics, "kvslim:prefix_cache_hits_total"));
        // the dashboard shows the hit rate: hits over lookups since start
        JsonNode model = TestClient.JSON
                .readTree(withCache.get("/dashboard/data").body())
                .get("models")
                .get(0);
        assertThat(model.get("prefix_cache_hit_rate").asDouble())
                .isCloseTo(
                        metric(metrics, "kvslim:prefix_cache_hits_total")
                                / metric(metrics, "kvslim:prefix_cache_queries_total"),
                        org.assertj.core.data.Offset.offset(1e-9));
        JsonNode off = TestClient.JSON
                .readTree(without.get("/dashboard/data").body())
                .get("models")
                .get(0);
        assertThat(off.get("prefix_cache_hit_rate").isNull()).isTrue();
    }

    @Test
    void theChoicesOfOneRequestComputeTheirPromptOnceAndSampleAsIfAlone() throws Exception {
        TestClient withCache = new TestClient(cached.port(), null);
        TestClient without = new TestClient(uncached.port(), null);
        String body = "{\"model\": \"stories\", \"prompt\": \"Zebras and lions lived in a big green forest"
                + " where\", \"n\": 4, \"max_tokens\": 8, \"temperature\": 1, \"seed\": 7, \"ignore_eos\":"
                + " true}";
        double before = metric(withCache.get("/metrics").body(), "kvslim:computed_tokens_total");
        double beforeWithout = metric(without.get("/metrics").body(), "kvslim:computed_tokens_total");
        JsonNode shared = withCache.ok("/v1/completions", body);
        JsonNode alone = without.ok("/v1/completions", body);
        int prompt = shared.get("usage").get("prompt_tokens").asInt();
        int reused = shared.get("usage")
                .get("prompt_tokens_details")
                .get("cached_tokens")
                .asInt();
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String text = shared.get("choices").get(i).get("text").asString();
            assertThat(text)
                    .as("choice %d samples as it does when it computes its own prompt", i)
                    .isEqualTo(alone.get("choices").get(i).get("text").asString());
            texts.add(text);
        }
        assertThat(new java.util.HashSet<>(texts))
                .as("the choices are sampled apart")
                .hasSizeGreaterThan(1);
        // each choice feeds 7 of its 8 tokens; the prompt runs once with sharing, four times without
        double computed = metric(withCache.get("/metrics").body(), "kvslim:computed_tokens_total") - before;
        double computedWithout = metric(without.get("/metrics").body(), "kvslim:computed_tokens_total") - beforeWithout;
        assertThat(computed).isEqualTo(prompt - reused + 4 * 7);
        assertThat(computedWithout).isEqualTo(4 * prompt + 4 * 7);
    }

    @Test
    void requestsWithOneSystemPromptShareItWhileRunningAndAfter() throws Exception {
        TestClient client = new TestClient(slow.port(), null);
        TestClient without = new TestClient(uncached.port(), null);
        String system = "You are a storyteller. You tell short and happy stories about animals to small children,"
                + " with a friendly tone and simple words.";
        String[] users = {" Tell me about a cat.", " Tell me about a dog.", " Tell me about a bird.", " A fish?"};
        java.util.function.IntFunction<String> body = i -> "{\"model\": \"stories\", \"prompt\": "
                + TestClient.JSON.valueToTree(system + users[i]) + ", \"max_tokens\": " + (i == 0 ? 60 : 6)
                + ", \"temperature\": 0, \"ignore_eos\": true}";
        int shared = client.ok(
                                "/tokenize",
                                "{\"model\": \"stories\", \"prompt\": " + TestClient.JSON.valueToTree(system) + "}")
                        .get("count")
                        .asInt()
                - 1; // the system prompt's last token may merge with the user's first
        // the first request runs (60 steps of 5 ms) while the second arrives: the second forks its cache
        var first = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return client.ok("/v1/completions", body.apply(0));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (metric(client.get("/metrics").body(), "kvslim:num_requests_running") < 1) {
            assertThat(System.nanoTime()).as("the first request starts running").isLessThan(deadline);
            Thread.sleep(5);
        }
        JsonNode second = client.ok("/v1/completions", body.apply(1));
        assertThat(first.get()
                        .get("usage")
                        .get("prompt_tokens_details")
                        .get("cached_tokens")
                        .asInt())
                .isZero();
        assertThat(second.get("usage")
                        .get("prompt_tokens_details")
                        .get("cached_tokens")
                        .asInt())
                .as("the second shares the running first's system prompt")
                .isGreaterThanOrEqualTo(shared);
        // after both finished, two more take the kept cache's system prompt (a fork each: it stays kept)
        for (int i = 2; i < 4; i++) {
            JsonNode r = client.ok("/v1/completions", body.apply(i));
            assertThat(r.get("usage")
                            .get("prompt_tokens_details")
                            .get("cached_tokens")
                            .asInt())
                    .as("request %d", i)
                    .isGreaterThanOrEqualTo(shared);
        }
        // and every answer is the one computed from scratch
        for (int i = 0; i < 4; i++) {
            JsonNode fresh = without.ok("/v1/completions", body.apply(i));
            JsonNode again = client.ok("/v1/completions", body.apply(i));
            assertThat(again.get("choices").get(0).get("text").asString())
                    .as("request %d", i)
                    .isEqualTo(fresh.get("choices").get(0).get("text").asString());
        }
        assertThat(first.get().get("choices").get(0).get("text").asString())
                .isEqualTo(without.ok("/v1/completions", body.apply(0))
                        .get("choices")
                        .get(0)
                        .get("text")
                        .asString());
        assertThat(second.get("choices").get(0).get("text").asString())
                .isEqualTo(without.ok("/v1/completions", body.apply(1))
                        .get("choices")
                        .get(0)
                        .get("text")
                        .asString());
    }

    private static double metric(String text, String name) {
        return text.lines()
                .filter(l -> l.startsWith(name + "{") || l.startsWith(name + " "))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }
}
