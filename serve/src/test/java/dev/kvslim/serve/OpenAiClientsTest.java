package dev.kvslim.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiLanguageModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The server through real OpenAI clients: the official {@code openai} npm package (serve/src/test/js/test.mjs, its
 * version pinned by package-lock.json) and LangChain4j's OpenAI module, against stories260K served with a small chat
 * template: completions, chat, streaming, stop strings, n > 1, structured output, and errors as the clients' own
 * exception types.
 */
class OpenAiClientsTest {

    private static final String CAT = "Once upon a time there was a little cat.";
    private static String base;

    @BeforeAll
    static void start() {
        ServerTest.start();
        base = "http://127.0.0.1:" + ServerTest.server.port() + "/v1";
    }

    @AfterAll
    static void stop() {
        ServerTest.stop();
    }

    @Test
    void theOfficialNodeClientPassesItsChecks() throws Exception {
        NodeScript.Result r =
                new NodeScript(Path.of("src", "test", "js")).installed().node("test.mjs", 180, base);
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).as(r.output()).contains("21 passed, 0 failed").doesNotContain("FAIL");
    }

    private static OpenAiChatModel.OpenAiChatModelBuilder chat() {
        return OpenAiChatModel.builder()
                .baseUrl(base)
                .apiKey("unused")
                .modelName("stories")
                .temperature(0.0)
                .maxTokens(30)
                .maxRetries(0)
                .timeout(Duration.ofSeconds(60));
    }

    @Test
    void langChain4jChatsStreamsAndStops() throws Exception {
        String reply = chat().build().chat(CAT);
        assertThat(reply).isNotBlank();
        // the same through our own plain client: the same greedy text
        String plain = ServerTest.client
                .ok(
                        "/v1/chat/completions",
                        "{\"model\": \"stories\", \"messages\": [{\"role\":" + " \"user\", \"content\": \"" + CAT
                                + "\"}], \"max_tokens\": 30, \"temperature\": 0}")
                .get("choices")
                .get(0)
                .get("message")
                .get("content")
                .asString();
        assertThat(reply).isEqualTo(plain);

        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        StringBuilder partial = new StringBuilder();
        OpenAiStreamingChatModel.builder()
                .baseUrl(base)
                .apiKey("unused")
                .modelName("stories")
                .temperature(0.0)
                .maxTokens(30)
                .timeout(Duration.ofSeconds(60))
                .build()
                .chat(List.of(UserMessage.from(CAT)), new StreamingChatResponseHandler() {
                    @Override
                    public void onPartialResponse(String text) {
                        partial.append(text);
                    }

                    @Override
                    public void onCompleteResponse(ChatResponse response) {
                        done.complete(response);
                    }

                    @Override
                    public void onError(Throwable error) {
                        done.completeExceptionally(error);
                    }
                });
        ChatResponse streamed = done.get(60, TimeUnit.SECONDS);
        assertThat(partial.toString()).isEqualTo(reply);
        assertThat(streamed.aiMessage().text()).isEqualTo(reply);

        String[] words = reply.trim().split("\\s+");
        String stop = " " + words[words.length / 2];
        ChatResponse stopped = chat().stop(List.of(stop)).build().chat(UserMessage.from(CAT));
        assertThat(stopped.aiMessage().text()).isEqualTo(reply.substring(0, reply.indexOf(stop)));
        assertThat(stopped.finishReason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    void langChain4jCompletesAndSeesErrors() {
        String text = OpenAiLanguageModel.builder()
                .baseUrl(base)
                .apiKey("unused")
                .modelName("stories")
                .temperature(0.0)
                .maxRetries(0)
                .build()
                .generate("Once upon a time")
                .content();
        assertThat(text).isNotBlank();
        assertThatThrownBy(() -> chat().modelName("no-such-model").build().chat(CAT))
                .hasMessageContaining("The model 'no-such-model' does not exist");
        assertThatThrownBy(() -> chat().maxTokens(100_000).build().chat(CAT))
                .hasMessageContaining("maximum context length");
    }

    @Test
    void langChain4jStructuredOutputFollowsItsSchema() {
        JsonSchema schema = JsonSchema.builder()
                .name("mood")
                .rootElement(JsonObjectSchema.builder()
                        .addEnumProperty("mood", List.of("happy", "sad", "sleepy"))
                        .addIntegerProperty("age")
                        .addBooleanProperty("hungry")
                        .required("mood", "age", "hungry")
                        .build())
                .build();
        ResponseFormat format = ResponseFormat.builder()
                .type(ResponseFormatType.JSON)
                .jsonSchema(schema)
                .build();
        var model =
                chat().temperature(1.0).maxTokens(200).strictJsonSchema(true).build();
        for (int i = 0; i < 3; i++) {
            ChatResponse r = model.chat(ChatRequest.builder()
                    .messages(UserMessage.from("The cat felt"))
                    .responseFormat(format)
                    .build());
            JsonNode answer = TestClient.JSON.readTree(r.aiMessage().text());
            assertThat(answer.propertyNames()).as(answer.toString()).containsExactly("mood", "age", "hungry");
            assertThat(answer.get("mood").asString()).isIn("happy", "sad", "sleepy");
            assertThat(answer.get("age").isIntegralNumber()).isTrue();
            assertThat(answer.get("hungry").isBoolean()).isTrue();
        }
    }

    @Test
    void langChain4jToolCallsParse() {
        ToolSpecification weather = ToolSpecification.builder()
                .name("get_weather")
                .description("Weather in a city")
                .parameters(JsonObjectSchema.builder()
                        .addEnumProperty("city", List.of("Paris", "Rome"))
                        .addIntegerProperty("days")
                        .required("city", "days")
                        .build())
                .build();
        var model = chat().temperature(1.0).maxTokens(400).build();
        for (int i = 0; i < 3; i++) {
            ChatResponse r = model.chat(ChatRequest.builder()
                    .messages(UserMessage.from("Weather?"))
                    .toolSpecifications(weather)
                    .toolChoice(ToolChoice.REQUIRED)
                    .build());
            assertThat(r.aiMessage().hasToolExecutionRequests())
                    .as(r.toString())
                    .isTrue();
            ToolExecutionRequest call = r.aiMessage().toolExecutionRequests().getFirst();
            assertThat(call.name()).isEqualTo("get_weather");
            JsonNode args = TestClient.JSON.readTree(call.arguments());
            assertThat(args.get("city").asString()).isIn("Paris", "Rome");
            assertThat(args.get("days").isIntegralNumber()).isTrue();
        }
    }

    /** What LangChain4j's AI service below fills in. */
    enum Mood {
        HAPPY,
        SAD,
        SLEEPY
    }

    // an unbounded JSON Schema integer may take 16 digits here: a long holds it, an int would not
    record Verdict(Mood mood, boolean happyEnding, long stars) {}

    interface Judge {
        Verdict judge(String story);
    }

    @Test
    void langChain4jAiServiceReturnsARecordThroughAJsonSchema() {
        var model = chat().temperature(1.0)
                .maxTokens(300)
                .strictJsonSchema(true)
                .supportedCapabilities(Capability.RESPONSE_FORMAT_JSON_SCHEMA)
                .build();
        Judge judge = AiServices.create(Judge.class, model);
        for (int i = 0; i < 3; i++) {
            Verdict v = judge.judge("Lily found a lost puppy and took it home.");
            assertThat(v.mood()).isNotNull();
        }
    }
}
