package dev.kvslim.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.kvslim.serve.api.ApiException;
import dev.kvslim.serve.api.GenerationParams;
import dev.kvslim.serve.schedule.Scheduler;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Arbitrary bytes as request bodies, with Jazzer. Each input is parsed as a completion and as a chat request: the
 * parser returns or throws its typed {@link ApiException} with a 4xx status, nothing else. Then it goes through the
 * HTTP API in process (to {@code /v1/completions} or {@code /v1/chat/completions} by its first byte) unless it parses to
 * a costly request (many tokens or choices): the answer is never a 5xx, and the KV pool is empty once it is answered.
 * <p>
 * {@code mvn verify} runs the seed corpus only (src/test/resources/dev/kvslim/serve/RequestFuzzTestInputs); to fuzz,
 * {@code JAZZER_FUZZ=1 ./mvnw -pl serve -am verify -Dtest=RequestFuzzTest -Djazzer.max_duration=5m} (findings land
 * in that folder as new inputs, which then stay as regression cases).
 */
class RequestFuzzTest {

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    private static KvSlimServer server;

    @BeforeAll
    static void start() {
        ServerTest.start();
        server = ServerTest.server;
    }

    @AfterAll
    static void stop() {
        ServerTest.stop();
    }

    @FuzzTest
    void requestBodies(byte[] body) throws Exception {
        GenerationParams completion = parse(body, false);
        GenerationParams chat = parse(body, true);
        boolean toChat = body.length > 0 && (body[0] & 1) == 1;
        GenerationParams parsed = toChat ? chat : completion;
        if (parsed != null && (parsed.maxTokens() == null || parsed.maxTokens() > 16 || parsed.n() > 4)) {
            return; // valid and costly: the parser's checks above are what this input tests
        }
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                                + (toChat ? "/v1/chat/completions" : "/v1/completions")))
                        .header("Content-Type", "application/json")
                        .timeout(Duration.ofSeconds(60))
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isBetween(200, 499);
        if (r.statusCode() != 200) {
            assertThat(r.body()).as("an OpenAI error object").startsWith("{\"error\":");
        }
        for (var m : server.models()) {
            Scheduler s = m.scheduler();
            // what is left in use is what the prefix cache keeps for the next request, nothing else
            assertThat((long) s.pool().usedBlocks())
                    .as("blocks left in use after the answer")
                    .isEqualTo(s.keptBlocks());
        }
    }

    private static GenerationParams parse(byte[] body, boolean chat) {
        try {
            return GenerationParams.parse(body, chat);
        } catch (ApiException e) {
            assertThat(e.status()).as(e.getMessage()).isBetween(400, 499);
            assertThat(e.getMessage()).isNotBlank();
            return null;
        }
    }
}
