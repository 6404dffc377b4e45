package dev.kvslim.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.constrain.Automaton;
import dev.kvslim.core.constrain.JsonSchemaGrammar;
import dev.kvslim.core.constrain.RandomSchemas;
import dev.kvslim.core.testing.JsonSchemas;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Structured output end to end with stories260K (served as in {@link ServerTest}) (a story model that knows nothing of JSON, so the grammar does all
 * the work): every answer under a JSON schema parses and validates against it (checked by networknt's
 * json-schema-validator), streamed or not, and what cannot be decoded under is a 400 naming it.
 */
class StructuredOutputTest {

    static TestClient client;

    @BeforeAll
    static void start() {
        ServerTest.start();
        client = ServerTest.client;
    }

    @AfterAll
    static void stop() {
        ServerTest.stop();
    }

    private static String request(String prompt, String extra) {
        return "{\"model\": \"stories\", \"prompt\": " + TestClient.JSON.valueToTree(prompt)
                + ", \"max_tokens\": 400, \"temperature\": 0.8" + extra + "}";
    }

    @Test
    void answersUnder200RandomSchemasAllValidate() throws Exception {
        String[] prompts = ServerTest.PROMPTS;
        for (int seed = 0; seed < 200; seed++) {
            ObjectNode schema = new RandomSchemas(seed, true).next();
            String format =
                    ", \"seed\": " + seed + ", \"response_format\": {\"type\": \"json_schema\", \"json_schema\":"
                            + " {\"name\": \"s" + seed + "\", \"strict\": true, \"schema\": " + schema + "}}";
            JsonNode choice = client.ok("/v1/completions", request(prompts[seed % prompts.length], format))
                    .get("choices")
                    .get(0);
            assertThat(choice.get("finish_reason").asString())
                    .as("%s\nunder schema %s", choice.get("text"), schema)
                    .isEqualTo("stop");
            JsonSchemas.assertValid(choice.get("text").asString(), schema);
        }
    }

    @Test
    void streamedChatUnderASchemaValidatesAndJsonObjectGivesAnObject() throws Exception {
        JsonNode schema = TestClient.JSON.readTree("{\"type\": \"object\", \"properties\": {\"name\": {\"type\":"
                + " \"string\", \"maxLength\": 12}, \"age\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\":"
                + " 120}, \"pets\": {\"type\": \"array\", \"items\": {\"enum\": [\"cat\", \"dog\"]}, \"maxItems\":"
                + " 3}}, \"required\": [\"name\", \"age\", \"pets\"], \"additionalProperties\": false}");
        String body = "{\"model\": \"stories\", \"messages\": [{\"role\": \"user\", \"content\": \"Lily is\"}],"
                + " \"max_tokens\": 300, \"seed\": 4, \"stream\": true, \"response_format\": {\"type\":"
                + " \"json_schema\", \"json_schema\": {\"name\": \"person\", \"schema\": " + schema + "}}}";
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (String event : client.stream("/v1/chat/completions", body)) {
            if (event.equals("[DONE]")) {
                continue;
            }
            JsonNode choice = TestClient.JSON.readTree(event).get("choices").get(0);
            JsonNode content = choice.path("delta").path("content");
            if (content.isString()) {
                text.append(content.asString());
            }
            if (choice.hasNonNull("finish_reason")) {
                finish = choice.get("finish_reason").asString();
            }
        }
        assertThat(finish).isEqualTo("stop");
        JsonSchemas.assertValid(text.toString(), schema);

        // any JSON object: the story model writes stories into its strings, so within the context it may not close
        // it; a finished answer parses as an object, a cut one is where an object's text may go on
        Automaton anyObject = new Automaton(JsonSchemaGrammar.anyObject());
        for (int seed = 0; seed < 5; seed++) {
            JsonNode choice = client.ok(
                            "/v1/chat/completions",
                            "{\"model\": \"stories\", \"messages\": [{\"role\": \"user\", \"content\": \"Tom\"}],"
                                    + " \"max_tokens\": 200, \"seed\": " + seed
                                    + ", \"response_format\": {\"type\": \"json_object\"}}")
                    .get("choices")
                    .get(0);
            String object = choice.get("message").get("content").asString();
            if (choice.get("finish_reason").asString().equals("stop")) {
                assertThat(TestClient.JSON.readTree(object).isObject())
                        .as(object)
                        .isTrue();
            } else {
                assertThat(choice.get("finish_reason").asString()).isEqualTo("length");
                assertThat(anyObject
                                .start()
                                .next(object.getBytes(StandardCharsets.UTF_8))
                                .isDead())
                        .as(object)
                        .isFalse();
            }
        }
    }

    @Test
    void vllmGuidedFieldsConstrainTheText() throws Exception {
        List<String> choices = List.of("happy", "sad", "sleepy dog");
        for (int seed = 0; seed < 10; seed++) {
            String text = client.ok(
                            "/v1/completions",
                            request(
                                    "The dog was",
                                    ", \"seed\": " + seed + ", \"guided_choice\": [\"happy\", \"sad\","
                                            + " \"sleepy dog\"]"))
                    .get("choices")
                    .get(0)
                    .get("text")
                    .asString();
            assertThat(choices).contains(text);
            String regex = "[A-Z][a-z]{2,8} (ran|sat) \\d{1,3} times\\.";
            String matched = client.ok(
                            "/v1/completions",
                            request(
                                    "Tom",
                                    ", \"seed\": " + seed + ", \"guided_regex\": "
                                            + TestClient.JSON.valueToTree(regex)))
                    .get("choices")
                    .get(0)
                    .get("text")
                    .asString();
            assertThat(matched).matches(Pattern.compile(regex));
        }
        JsonNode schema = TestClient.JSON.readTree(
                "{\"type\": \"array\", \"items\": {\"type\": \"boolean\"}," + " \"minItems\": 2, \"maxItems\": 2}");
        String json = client.ok("/v1/completions", request("Yes", ", \"guided_json\": " + schema))
                .get("choices")
                .get(0)
                .get("text")
                .asString();
        JsonSchemas.assertValid(json, schema);
    }

    @Test
    void whatCannotBeDecodedUnderIsA400NamingIt() throws Exception {
        String[][] cases = {
            {
                ", \"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"x\", \"schema\":"
                        + " {\"type\": \"string\", \"format\": \"email\"}}}",
                "response_format.json_schema.schema",
                "unsupported JSON Schema keyword 'format' at #"
            },
            {", \"guided_regex\": \"a(?!b)\"", "guided_regex", "look-around"},
            {", \"guided_json\": {\"type\": \"object\"}, \"guided_regex\": \"a\"", "guided_regex", "Only one of"},
            {", \"response_format\": {\"type\": \"yaml\"}", "response_format.type", "json_schema"},
            {", \"guided_grammar\": \"root ::= \\\"a\\\"\"", "guided_grammar", "not implemented"},
            {", \"guided_choice\": []", "guided_choice", "non-empty"},
            {", \"guided_json\": \"{not json\"", "guided_json", "not valid JSON"}
        };
        for (String[] c : cases) {
            ServerTest.assertError(client.post("/v1/completions", request("x", c[0])), 400, c[1], c[2]);
        }
    }
}
