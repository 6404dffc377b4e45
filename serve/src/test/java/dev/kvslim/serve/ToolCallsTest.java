package dev.kvslim.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.Schema;
import dev.kvslim.core.testing.JsonSchemas;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Tool calls and thinking end to end (the server of {@link ServerTest}): a named or required {@code tool_choice} is
 * decoded under the tools' schemas, so its arguments always parse and validate (networknt's validator); calls written
 * in Hermes' form are read back as {@code tool_calls}; tool results go back through the template; a thinking
 * template's output comes back as {@code reasoning_content} and {@code content}.
 */
class ToolCallsTest {

    static final String TOOLS = "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\":"
            + " \"Weather in a city\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"enum\":"
            + " [\"Paris\", \"Rome\"]}, \"days\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 7}},"
            + " \"required\": [\"city\", \"days\"], \"additionalProperties\": false}}}, {\"type\": \"function\","
            + " \"function\": {\"name\": \"add\", \"parameters\": {\"type\": \"object\", \"properties\": {\"a\":"
            + " {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 99}, \"b\": {\"type\": \"integer\", \"minimum\":"
            + " 0, \"maximum\": 99}}, \"required\": [\"a\", \"b\"], \"additionalProperties\": false}}}]";

    static TestClient client;
    static Map<String, Schema> schemas = new LinkedHashMap<>();

    @BeforeAll
    static void start() {
        ServerTest.start();
        client = ServerTest.client;
        for (JsonNode t : TestClient.JSON.readTree(TOOLS)) {
            JsonNode f = t.get("function");
            schemas.put(f.get("name").asString(), JsonSchemas.validator(f.get("parameters")));
        }
    }

    @AfterAll
    static void stop() {
        ServerTest.stop();
    }

    private static String chat(String model, String content, String extra) {
        return "{\"model\": \"" + model + "\", \"messages\": [{\"role\": \"user\", \"content\": \"" + content + "\"}],"
                + " \"max_tokens\": 200, \"temperature\": 1" + extra + "}";
    }

    private static void assertValidCall(JsonNode call) {
        assertThat(call.get("id").asString()).startsWith("call_");
        assertThat(call.get("type").asString()).isEqualTo("function");
        String name = call.get("function").get("name").asString();
        assertThat(schemas).containsKey(name);
        JsonNode args =
                TestClient.JSON.readTree(call.get("function").get("arguments").asString());
        assertThat(schemas.get(name).validate(args)).as("%s(%s)", name, args).isEmpty();
    }

    @Test
    void namedAndRequiredChoicesAlwaysGiveCallsThatValidate() throws Exception {
        for (int seed = 0; seed < 10; seed++) {
            JsonNode named = client.ok(
                            "/v1/chat/completions",
                            chat(
                                    "stories",
                                    "What is the weather?",
                                    ", \"seed\": " + seed + ", \"tools\": " + TOOLS + ", \"tool_choice\": {\"type\":"
                                            + " \"function\", \"function\": {\"name\": \"get_weather\"}}"))
                    .get("choices")
                    .get(0);
            assertThat(named.get("finish_reason").asString()).isEqualTo("tool_calls");
            JsonNode message = named.get("message");
            assertThat(message.get("content").isNull()).isTrue();
            assertThat(message.get("tool_calls")).hasSize(1);
            assertThat(message.get("tool_calls")
                            .get(0)
                            .get("function")
                            .get("name")
                            .asString())
                    .isEqualTo("get_weather");
            assertValidCall(message.get("tool_calls").get(0));

            JsonNode one = client.ok(
                            "/v1/chat/completions",
                            chat(
                                    "stories",
                                    "Add two numbers",
                                    ", \"seed\": " + seed + ", \"tools\": " + TOOLS
                                            + ", \"tool_choice\": \"required\", \"parallel_tool_calls\": false"))
                    .get("choices")
                    .get(0)
                    .get("message");
            assertThat(one.get("tool_calls")).hasSize(1);
            assertValidCall(one.get("tool_calls").get(0));

            JsonNode many = client.ok(
                            "/v1/chat/completions",
                            chat(
                                    "stories",
                                    "Do both",
                                    ", \"seed\": " + seed + ", \"tools\": " + TOOLS
                                            + ", \"tool_choice\": \"required\""))
                    .get("choices")
                    .get(0)
                    .get("message");
            // the story model may go on calling until max_tokens: the calls it wrote whole are returned
            assertThat(many.path("tool_calls").size()).as(many.toString()).isPositive();
            many.get("tool_calls").forEach(ToolCallsTest::assertValidCall);
        }
    }

    @Test
    void aStreamedCallComesAsOpenAiStreamsIt() throws Exception {
        List<String> events = client.stream(
                "/v1/chat/completions",
                chat(
                        "stories",
                        "Weather?",
                        ", \"seed\": 3, \"stream\": true, \"tools\": " + TOOLS
                                + ", \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}"));
        assertThat(events.getLast()).isEqualTo("[DONE]");
        StringBuilder arguments = new StringBuilder();
        String id = null;
        String finish = null;
        int withArguments = 0;
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode choice = TestClient.JSON.readTree(e).get("choices").get(0);
            JsonNode calls = choice.path("delta").path("tool_calls");
            if (calls.isArray()) {
                JsonNode c = calls.get(0);
                assertThat(c.get("index").asInt()).isZero();
                if (c.has("id")) {
                    assertThat(id).as("one first chunk with the id").isNull();
                    id = c.get("id").asString();
                    assertThat(c.get("function").get("name").asString()).isEqualTo("get_weather");
                } else {
                    withArguments++;
                }
                arguments.append(c.get("function").get("arguments").asString());
            }
            if (choice.hasNonNull("finish_reason")) {
                finish = choice.get("finish_reason").asString();
            }
        }
        assertThat(id).startsWith("call_");
        assertThat(withArguments).as("arguments arrive in several chunks").isGreaterThan(1);
        assertThat(finish).isEqualTo("tool_calls");
        assertThat(schemas.get("get_weather").validate(TestClient.JSON.readTree(arguments.toString())))
                .isEmpty();
    }

    @Test
    void callsTheModelWritesInHermesFormAreReadBack() throws Exception {
        // the story model knows no tools: a regular expression makes it write a call in Hermes' form
        String regex = "<tool_call>\\\\n\\\\{\\\"name\\\": \\\"get_weather\\\", \\\"arguments\\\": \\\\{\\\"city\\\":"
                + " \\\"(Paris|Rome)\\\", \\\"days\\\": [1-7]\\\\}\\\\}\\\\n</tool_call>";
        JsonNode choice = client.ok(
                        "/v1/chat/completions",
                        chat("stories", "Weather?", ", \"tools\": " + TOOLS + ", \"guided_regex\": \"" + regex + "\""))
                .get("choices")
                .get(0);
        assertThat(choice.get("finish_reason").asString()).isEqualTo("tool_calls");
        assertThat(choice.get("message").get("tool_calls")).hasSize(1);
        assertValidCall(choice.get("message").get("tool_calls").get(0));
        // with tool_choice none the same text is content
        JsonNode none = client.ok(
                        "/v1/chat/completions",
                        chat(
                                "stories",
                                "Weather?",
                                ", \"tools\": " + TOOLS + ", \"tool_choice\": \"none\", \"guided_regex\": \"" + regex
                                        + "\""))
                .get("choices")
                .get(0)
                .get("message");
        assertThat(none.get("content").asString()).startsWith("<tool_call>");
        assertThat(none.path("tool_calls").size()).isZero();
    }

    @Test
    void toolsCallsAndResultsGoThroughTheTemplate() throws Exception {
        String messages = "[{\"role\": \"user\", \"content\": \"Weather in Paris?\"}, {\"role\": \"assistant\","
                + " \"content\": null, \"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\", \"function\":"
                + " {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\", \\\"days\\\": 1}\"}}]},"
                + " {\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": \"18C\"}]";
        JsonNode tokens = client.ok(
                "/tokenize", "{\"model\": \"stories\", \"messages\": " + messages + ", \"tools\": " + TOOLS + "}");
        String text = client.ok("/detokenize", "{\"model\": \"stories\", \"tokens\": " + tokens.get("tokens") + "}")
                .get("prompt")
                .asString();
        assertThat(text)
                .isEqualTo("[tools: get_weather add] Weather in Paris? <tool_call>{\"name\": \"get_weather\","
                        + " \"arguments\": {\"city\": \"Paris\", \"days\": 1}}</tool_call> <tool_response>18C"
                        + "</tool_response>");
        // and a chat request with them is answered (the next turn after the tool's result)
        JsonNode answer = client.ok(
                "/v1/chat/completions",
                "{\"model\": \"stories\", \"messages\": " + messages + ", \"tools\": " + TOOLS
                        + ", \"max_tokens\": 5}");
        assertThat(answer.get("usage").get("prompt_tokens").asInt())
                .isEqualTo(tokens.get("count").asInt());
    }

    @Test
    void badToolRequestsAreNamed() throws Exception {
        String[][] cases = {
            {", \"tool_choice\": \"required\"", "tool_choice", "only allowed when tools"},
            {
                ", \"tools\": " + TOOLS
                        + ", \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"nope\"}}",
                "tool_choice",
                "not among the tools"
            },
            {
                ", \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"a b\"}}]",
                "tools[0].function.name",
                "letters"
            },
            {", \"tools\": [{\"type\": \"code\"}]", "tools[0]", "function"},
            {
                ", \"tools\": " + TOOLS + ", \"tool_choice\": \"required\", \"response_format\": {\"type\":"
                        + " \"json_object\"}",
                "tool_choice",
                "cannot be combined"
            },
            {
                ", \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {\"type\":"
                        + " \"object\", \"properties\": {\"e\": {\"type\": \"string\", \"format\": \"email\"}}}}}],"
                        + " \"tool_choice\": \"required\"",
                "tools",
                "'format'"
            }
        };
        for (String[] c : cases) {
            ServerTest.assertError(client.post("/v1/chat/completions", chat("stories", "x", c[0])), 400, c[1], c[2]);
        }
    }

    @Test
    void aThinkingModelsThoughtsComeApartFromItsAnswer() throws Exception {
        String regex = "[a-z]{2,8}( [a-z]{2,8}){0,3}</think>\\\\n\\\\n[A-Z][a-z]{1,8}\\\\.";
        JsonNode message = client.ok(
                        "/v1/chat/completions",
                        chat("stories-think", "Why?", ", \"seed\": 1, \"guided_regex\": \"" + regex + "\""))
                .get("choices")
                .get(0)
                .get("message");
        assertThat(message.get("reasoning_content").asString()).matches("[a-z]{2,8}( [a-z]{2,8}){0,3}");
        assertThat(message.get("content").asString()).matches("[A-Z][a-z]{1,8}\\.");
        // streamed: the same thinking and answer, in reasoning_content and content deltas
        StringBuilder thinking = new StringBuilder(), answer = new StringBuilder();
        for (String e : client.stream(
                "/v1/chat/completions",
                chat(
                        "stories-think",
                        "Why?",
                        ", \"seed\": 1, \"stream\": true, \"guided_regex\": \"" + regex + "\""))) {
            if (!e.equals("[DONE]")) {
                JsonNode delta =
                        TestClient.JSON.readTree(e).get("choices").get(0).get("delta");
                thinking.append(delta.path("reasoning_content").asString(""));
                answer.append(delta.path("content").asString(""));
            }
        }
        assertThat(thinking.toString())
                .isEqualTo(message.get("reasoning_content").asString());
        assertThat(answer.toString()).isEqualTo(message.get("content").asString());
        // chat_template_kwargs reach the template: without thinking the prompt closes the block and all is answer
        JsonNode plain = client.ok(
                        "/v1/chat/completions",
                        chat(
                                "stories-think",
                                "Why?",
                                ", \"chat_template_kwargs\": {\"enable_thinking\": false}, \"guided_regex\":"
                                        + " \"[A-Z][a-z]{1,8}\\\\.\""))
                .get("choices")
                .get(0)
                .get("message");
        assertThat(plain.get("content").asString()).matches("[A-Z][a-z]{1,8}\\.");
        assertThat(plain.has("reasoning_content")).isFalse();
        int with = client.ok(
                        "/tokenize",
                        "{\"model\": \"stories-think\", \"messages\": [{\"role\": \"user\","
                                + " \"content\": \"Why?\"}]}")
                .get("count")
                .asInt();
        int without = client.ok(
                        "/tokenize",
                        "{\"model\": \"stories-think\", \"messages\": [{\"role\": \"user\","
                                + " \"content\": \"Why?\"}], \"chat_template_kwargs\": {\"enable_thinking\": false}}")
                .get("count")
                .asInt();
        assertThat(without).isGreaterThan(with);
    }
}
