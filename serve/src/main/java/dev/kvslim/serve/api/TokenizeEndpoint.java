package dev.kvslim.serve.api;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.tokenizer.Tokenizer;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * vLLM's {@code POST /tokenize} and {@code POST /detokenize}, in its shapes. Tokenize takes a {@code prompt}
 * ({@code add_special_tokens}, default true) or chat {@code messages} rendered by the model's template
 * ({@code add_generation_prompt}, default true; {@code add_special_tokens} default false; {@code tools} and
 * {@code chat_template_kwargs} as a chat request gives them to the template) and answers
 * {@code {"count", "max_model_len", "tokens", "token_strs"}} ({@code token_strs} with {@code return_token_strs}).
 * Detokenize takes {@code tokens} and answers {@code {"prompt"}}. Both are behind the API keys, as {@code /v1} is.
 */
final class TokenizeEndpoint implements Handler {

    private final boolean tokenize;
    private final ApiContext context;

    TokenizeEndpoint(boolean tokenize, ApiContext context) {
        this.tokenize = tokenize;
        this.context = context;
    }

    @Override
    public void handle(ServerRequest req, ServerResponse res) {
        ApiRoutes.authenticate(context, req);
        JsonNode root;
        try {
            root = ResponseShapes.JSON.readTree(ApiRoutes.body(context, req));
        } catch (JacksonException e) {
            throw ApiException.invalid(null, "The request body is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw ApiException.invalid(null, "The request body must be a JSON object.");
        }
        ServedModel model = context.model(GenerationParams.optionalString(root, "model"));
        ObjectNode out = tokenize
                ? tokenize(model.loaded(), root)
                : detokenize(model.loaded().tokenizer(), root);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(ResponseShapes.JSON.writeValueAsBytes(out));
    }

    private static ObjectNode tokenize(LoadedModel loaded, JsonNode root) {
        boolean chat = root.has("messages");
        if (chat && root.has("prompt")) {
            throw ApiException.invalid("messages", "Give either 'prompt' or 'messages', not both.");
        }
        String text = chat
                ? GenerationEndpoint.chatText(
                        loaded,
                        GenerationParams.messages(root),
                        booleanOr(root, "add_generation_prompt", true),
                        GenerationEndpoint.templateVariables(
                                GenerationParams.tools(root).definitions(), GenerationParams.templateKwargs(root)))
                : GenerationParams.prompt(root);
        Tokenizer tokenizer = loaded.tokenizer();
        int[] tokens = tokenizer.encode(text, booleanOr(root, "add_special_tokens", !chat));
        ObjectNode out = ResponseShapes.JSON.createObjectNode();
        out.put("count", tokens.length);
        out.put("max_model_len", loaded.model().config().contextLength());
        ArrayNode ids = out.putArray("tokens");
        for (int t : tokens) {
            ids.add(t);
        }
        if (booleanOr(root, "return_token_strs", false)) {
            ArrayNode strs = out.putArray("token_strs");
            for (int t : tokens) {
                strs.add(tokenizer.piece(t));
            }
        } else {
            out.putNull("token_strs");
        }
        return out;
    }

    private static ObjectNode detokenize(Tokenizer tokenizer, JsonNode root) {
        JsonNode list = root.get("tokens");
        if (list == null || !list.isArray()) {
            throw ApiException.invalid("tokens", "tokens must be a list of token ids.");
        }
        int[] ids = new int[list.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = list.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= tokenizer.vocabSize()) {
                throw ApiException.invalid(
                        "tokens",
                        "tokens[" + i + "] must be a token id from 0 to " + (tokenizer.vocabSize() - 1) + ", got " + t
                                + ".");
            }
            ids[i] = t.asInt();
        }
        ObjectNode out = ResponseShapes.JSON.createObjectNode();
        out.put("prompt", tokenizer.decode(ids));
        return out;
    }

    private static boolean booleanOr(JsonNode root, String field, boolean absent) {
        return root.has(field) && !root.get(field).isNull() ? GenerationParams.optionalBoolean(root, field) : absent;
    }
}
