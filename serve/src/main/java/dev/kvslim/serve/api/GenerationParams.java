package dev.kvslim.serve.api;

import dev.kvslim.core.chat.ChatMessage;
import dev.kvslim.core.constrain.Automaton;
import dev.kvslim.core.constrain.Expr;
import dev.kvslim.core.constrain.Grammar;
import dev.kvslim.core.constrain.GrammarException;
import dev.kvslim.core.constrain.JsonSchemaGrammar;
import dev.kvslim.core.constrain.RegexGrammar;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The fields of a {@code /v1/completions} or {@code /v1/chat/completions} request body, checked: anything of the
 * wrong type or out of range is an {@link ApiException} (400) naming the field. Fields this server does not use are
 * ignored, as OpenAI clients send many. Absent sampling fields are null, to be filled from the model's
 * generation_config.json, then OpenAI's defaults.
 *
 * @param model         the model asked for, or null for the server's first
 * @param prompt        completions: the prompt text
 * @param messages      chat: the conversation
 * @param maxTokens     {@code max_completion_tokens}, else {@code max_tokens}, or null
 * @param maxTokensField which of the two fields gave {@code maxTokens} (for errors about it)
 * @param topLogprobs   -1 without log probabilities, else how many alternatives per token
 * @param logitBias     OpenAI's {@code logit_bias}: token id to a bias from -100 to 100 (ids checked against the
 *                      model's vocabulary by the endpoint)
 * @param tools         the tools and {@code tool_choice} (chat only)
 * @param templateKwargs {@code chat_template_kwargs}: more variables for the chat template (e.g. {@code enable_thinking})
 * @param grammar       structured output: the text must be a sentence of this grammar ({@code response_format}
 *                      {@code json_object} or {@code json_schema}, or vLLM's {@code guided_json},
 *                      {@code guided_regex}, {@code guided_choice}); null for free text
 */
public record GenerationParams(
        String model,
        String prompt,
        List<ChatMessage> messages,
        Integer maxTokens,
        String maxTokensField,
        Float temperature,
        Float topP,
        Integer topK,
        Float minP,
        Long seed,
        List<String> stop,
        int n,
        boolean stream,
        boolean includeUsage,
        int topLogprobs,
        boolean ignoreEos,
        Map<Integer, Float> logitBias,
        Grammar grammar,
        ToolRequest tools,
        Map<String, Object> templateKwargs) {

    /**
     * The request's tools: their definitions as the chat template reads them ({@code [{"type": "function",
     * "function": {...}}]}), and how {@code tool_choice} shapes the output (a named function, when asked for).
     */
    record ToolRequest(List<Object> definitions, ChatOutput.Tools choice, String named) {
        static final ToolRequest NONE = new ToolRequest(List.of(), ChatOutput.Tools.NONE, null);
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** Most alternatives per token, as vLLM's default limit. */
    static final int MAX_TOP_LOGPROBS = 20;
    /** Most choices per request. */
    static final int MAX_N = 64;
    /**
     * Most stop strings per request, and most bytes they may take together. OpenAI takes 4; vLLM has no limit, and
     * clients written for it send more. Matching costs the same per token however many there are (one automaton), so
     * these only bound what a request makes the server build.
     */
    static final int MAX_STOP_STRINGS = 64;

    static final int MAX_STOP_BYTES = 16 * 1024;

    /** Parses a request body; {@code chat} selects the chat fields ({@code messages}) over {@code prompt}. */
    public static GenerationParams parse(byte[] body, boolean chat) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JacksonException e) {
            throw ApiException.invalid(null, "The request body is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw ApiException.invalid(null, "The request body must be a JSON object.");
        }
        refuseUnsupported(root);
        String model = optionalString(root, "model");
        String prompt = chat ? null : prompt(root);
        List<ChatMessage> messages = chat ? messages(root) : null;
        String maxTokensField = "max_completion_tokens";
        Integer maxTokens = optionalInt(root, maxTokensField, 1, Integer.MAX_VALUE);
        if (maxTokens == null) {
            maxTokensField = "max_tokens";
            maxTokens = optionalInt(root, maxTokensField, 1, Integer.MAX_VALUE);
        }
        Float temperature = optionalFloat(root, "temperature", 0, 2);
        Float topP = optionalFloat(root, "top_p", 0, 1);
        if (topP != null && topP == 0f) {
            throw ApiException.invalid("top_p", "top_p must be in (0, 1], got 0.");
        }
        Integer topK = optionalInt(root, "top_k", -1, Integer.MAX_VALUE);
        if (topK != null && topK == -1) {
            topK = 0; // vLLM's "all tokens"
        }
        Float minP = optionalFloat(root, "min_p", 0, 1);
        Long seed = optionalLong(root, "seed");
        List<String> stop = stop(root);
        Integer n = optionalInt(root, "n", 1, MAX_N);
        boolean stream = optionalBoolean(root, "stream");
        JsonNode options = root.get("stream_options");
        boolean includeUsage = false;
        if (options != null && !options.isNull()) {
            if (!options.isObject()) {
                throw ApiException.invalid("stream_options", "stream_options must be an object.");
            }
            if (!stream) {
                throw ApiException.invalid("stream_options", "stream_options is only allowed when stream is true.");
            }
            includeUsage = optionalBoolean(options, "include_usage", "stream_options.include_usage");
        }
        int topLogprobs = chat ? chatLogprobs(root) : optionalIntOr(root, "logprobs", 0, MAX_TOP_LOGPROBS, -1);
        boolean ignoreEos = optionalBoolean(root, "ignore_eos");
        Grammar grammar = grammar(root);
        Map<Integer, Float> logitBias = logitBias(root);
        ToolRequest tools = chat ? tools(root) : ToolRequest.NONE;
        if (tools.choice() == ChatOutput.Tools.REQUIRED || tools.choice() == ChatOutput.Tools.NAMED) {
            if (grammar != null) {
                throw ApiException.invalid(
                        "tool_choice",
                        "tool_choice '" + (tools.named() != null ? tools.named() : "required")
                                + "' decodes the call under its own schema: it cannot be combined with response_format"
                                + " or guided_* fields.");
            }
            grammar = toolGrammar(root.get("tools"), tools, optionalBooleanOr(root, "parallel_tool_calls", true));
        }
        Map<String, Object> templateKwargs = chat ? templateKwargs(root) : Map.of();
        return new GenerationParams(
                model,
                prompt,
                messages,
                maxTokens,
                maxTokensField,
                temperature,
                topP,
                topK,
                minP,
                seed,
                stop,
                n == null ? 1 : n,
                stream,
                includeUsage,
                topLogprobs,
                ignoreEos,
                logitBias,
                grammar,
                tools,
                templateKwargs);
    }

    private static boolean optionalBooleanOr(JsonNode root, String field, boolean absent) {
        JsonNode v = root.get(field);
        return v == null || v.isNull() ? absent : optionalBoolean(root, field);
    }

    /** {@code chat_template_kwargs}: an object whose entries become template variables. */
    static Map<String, Object> templateKwargs(JsonNode root) {
        JsonNode v = root.get("chat_template_kwargs");
        if (v == null || v.isNull()) {
            return Map.of();
        }
        if (!v.isObject()) {
            throw ApiException.invalid("chat_template_kwargs", "chat_template_kwargs must be an object.");
        }
        Map<String, Object> kwargs = new LinkedHashMap<>();
        for (String key : v.propertyNames()) {
            if (key.equals("messages") || key.equals("add_generation_prompt") || key.equals("tools")) {
                throw ApiException.invalid(
                        "chat_template_kwargs", "chat_template_kwargs may not set '" + key + "': the request does.");
            }
            kwargs.put(key, plain(v.get(key)));
        }
        return kwargs;
    }

    /** A JSON value as the plain Java maps, lists, strings, numbers and booleans a template reads. */
    static Object plain(JsonNode v) {
        return JSON.treeToValue(v, Object.class);
    }

    /**
     * {@code tools} (functions only) and {@code tool_choice}: {@code none}, {@code auto} (the default with tools),
     * {@code required} or {@code {"type": "function", "function": {"name": ...}}}.
     */
    static ToolRequest tools(JsonNode root) {
        JsonNode list = root.get("tools");
        JsonNode choice = root.get("tool_choice");
        boolean none = list == null || list.isNull() || (list.isArray() && list.isEmpty());
        if (none) {
            if (choice != null
                    && !choice.isNull()
                    && !(choice.isString() && choice.asString().equals("none"))) {
                throw ApiException.invalid("tool_choice", "tool_choice is only allowed when tools are given.");
            }
            return ToolRequest.NONE;
        }
        if (!list.isArray()) {
            throw ApiException.invalid(
                    "tools", "tools must be a list of {\"type\": \"function\", \"function\": {...}}.");
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode t = list.get(i);
            String at = "tools[" + i + "]";
            if (!t.isObject() || !"function".equals(t.path("type").asString(""))) {
                throw ApiException.invalid(at, at + " must be {\"type\": \"function\", \"function\": {...}}.");
            }
            JsonNode f = t.get("function");
            if (f == null
                    || !f.isObject()
                    || !f.path("name").isString()
                    || !f.get("name").asString().matches("[A-Za-z0-9_.-]{1,64}")) {
                throw ApiException.invalid(
                        at + ".function.name",
                        at + ".function needs a name of 1 to 64 letters, digits, '_', '.' or '-'.");
            }
            JsonNode parameters = f.get("parameters");
            if (parameters != null && !parameters.isNull() && !parameters.isObject()) {
                throw ApiException.invalid(at + ".function.parameters", "parameters must be a JSON Schema object.");
            }
            names.add(f.get("name").asString());
        }
        ChatOutput.Tools mode;
        String named = null;
        if (choice == null
                || choice.isNull()
                || (choice.isString() && choice.asString().equals("auto"))) {
            mode = ChatOutput.Tools.AUTO;
        } else if (choice.isString() && choice.asString().equals("none")) {
            mode = ChatOutput.Tools.NONE;
        } else if (choice.isString() && choice.asString().equals("required")) {
            mode = ChatOutput.Tools.REQUIRED;
        } else if (choice.isObject() && choice.path("function").path("name").isString()) {
            named = choice.get("function").get("name").asString();
            if (!names.contains(named)) {
                throw ApiException.invalid(
                        "tool_choice", "tool_choice names '" + named + "', which is not among the tools.");
            }
            mode = ChatOutput.Tools.NAMED;
        } else {
            throw ApiException.invalid(
                    "tool_choice",
                    "tool_choice must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}.");
        }
        List<Object> definitions = new ArrayList<>();
        for (JsonNode t : list) {
            definitions.add(plain(t));
        }
        return new ToolRequest(definitions, mode, named);
    }

    /**
     * The grammar of a call that must be made: a named function's arguments (its parameters' schema), or for
     * {@code required}, as vLLM decodes it, a JSON list of {@code {"name", "parameters"}} over the tools (one call
     * without {@code parallel_tool_calls}).
     */
    private static Grammar toolGrammar(JsonNode list, ToolRequest tools, boolean parallel) {
        String at = "tools";
        try {
            if (tools.choice() == ChatOutput.Tools.NAMED) {
                for (int i = 0; i < list.size(); i++) {
                    JsonNode f = list.get(i).get("function");
                    if (f.get("name").asString().equals(tools.named())) {
                        at = "tools[" + i + "].function.parameters";
                        return JsonSchemaGrammar.of(parameters(f));
                    }
                }
                throw new IllegalStateException("named tool not found: " + tools.named());
            }
            ArrayNode options = JSON.createArrayNode();
            for (JsonNode t : list) {
                JsonNode f = t.get("function");
                ObjectNode call = options.addObject();
                call.put("type", "object");
                ObjectNode props = call.putObject("properties");
                props.putObject("name").put("const", f.get("name").asString());
                props.set("parameters", parameters(f));
                call.putArray("required").add("name").add("parameters");
                call.put("additionalProperties", false);
            }
            ObjectNode schema = JSON.createObjectNode();
            schema.put("type", "array");
            schema.put("minItems", 1);
            if (!parallel) {
                schema.put("maxItems", 1);
            }
            schema.putObject("items").set("anyOf", options);
            return JsonSchemaGrammar.of(schema);
        } catch (GrammarException e) {
            throw ApiException.invalid(at, "Cannot decode a call under '" + at + "': " + e.getMessage() + ".");
        }
    }

    private static JsonNode parameters(JsonNode function) {
        JsonNode p = function.get("parameters");
        return p == null || p.isNull() ? JSON.readTree("{\"type\": \"object\", \"properties\": {}}") : p;
    }

    /** Most entries of {@code logit_bias}, as OpenAI allows. */
    static final int MAX_LOGIT_BIAS = 300;

    private static Map<Integer, Float> logitBias(JsonNode root) {
        JsonNode v = root.get("logit_bias");
        Map<Integer, Float> bias = new LinkedHashMap<>();
        if (v == null || v.isNull()) {
            return bias;
        }
        if (!v.isObject()) {
            throw ApiException.invalid("logit_bias", "logit_bias must be an object of token ids to biases.");
        }
        if (v.size() > MAX_LOGIT_BIAS) {
            throw ApiException.invalid(
                    "logit_bias", "logit_bias may have at most " + MAX_LOGIT_BIAS + " entries, got " + v.size() + ".");
        }
        for (String key : v.propertyNames()) {
            int id;
            try {
                id = Integer.parseInt(key);
            } catch (NumberFormatException e) {
                throw ApiException.invalid("logit_bias", "logit_bias keys must be token ids, got '" + key + "'.");
            }
            JsonNode b = v.get(key);
            if (!b.isNumber() || !(b.asDouble() >= -100 && b.asDouble() <= 100)) {
                throw ApiException.invalid(
                        "logit_bias",
                        "logit_bias values must be numbers from -100 to 100, got " + b + " for " + key + ".");
            }
            bias.put(id, (float) b.asDouble());
        }
        return bias;
    }

    /**
     * The grammar of a structured-output request, or null: OpenAI's {@code response_format} ({@code text},
     * {@code json_object}, {@code json_schema}) or one of vLLM's {@code guided_json}, {@code guided_regex},
     * {@code guided_choice}; at most one of them. A schema or expression that cannot be decoded under is a 400 naming
     * the field and what in it is not supported.
     */
    private static Grammar grammar(JsonNode root) {
        String field = null;
        Grammar grammar = null;
        for (String name : new String[] {"response_format", "guided_json", "guided_regex", "guided_choice"}) {
            JsonNode v = root.get(name);
            if (v == null || v.isNull()) {
                continue;
            }
            String at = name;
            Grammar g;
            try {
                switch (name) {
                    case "response_format" -> {
                        JsonNode type = v.isObject() ? v.get("type") : null;
                        if (type == null || !type.isString()) {
                            throw ApiException.invalid(
                                    name,
                                    "response_format must be an object with a 'type' (text, json_object or json_schema).");
                        }
                        g = switch (type.asString()) {
                            case "text" -> null;
                            case "json_object" -> JsonSchemaGrammar.anyObject();
                            case "json_schema" -> {
                                JsonNode spec = v.get("json_schema");
                                if (spec == null || !spec.isObject()) {
                                    throw ApiException.invalid(
                                            name + ".json_schema",
                                            "response_format of type json_schema needs a 'json_schema' object.");
                                }
                                JsonNode schema = spec.get("schema");
                                at = name + ".json_schema.schema";
                                yield schema == null || schema.isNull()
                                        ? JsonSchemaGrammar.anyObject()
                                        : JsonSchemaGrammar.of(schema);
                            }
                            default ->
                                throw ApiException.invalid(
                                        name + ".type",
                                        "response_format.type must be text, json_object or json_schema, got '"
                                                + type.asString() + "'.");
                        };
                    }
                    case "guided_json" ->
                        g = v.isString() ? JsonSchemaGrammar.of(v.asString()) : JsonSchemaGrammar.of(v);
                    case "guided_regex" -> {
                        if (!v.isString()) {
                            throw ApiException.invalid(name, "guided_regex must be a string.");
                        }
                        g = RegexGrammar.of(v.asString());
                    }
                    default -> g = choices(v);
                }
                if (g != null && new Automaton(g).start().isDead()) {
                    throw new GrammarException("no text satisfies it");
                }
            } catch (GrammarException e) {
                throw ApiException.invalid(at, "Cannot decode under '" + at + "': " + e.getMessage() + ".");
            }
            if (g == null) {
                continue;
            }
            if (grammar != null) {
                throw ApiException.invalid(name, "Only one of " + field + " and " + name + " may be given.");
            }
            field = name;
            grammar = g;
        }
        return grammar;
    }

    private static Grammar choices(JsonNode v) {
        if (!v.isArray() || v.isEmpty()) {
            throw ApiException.invalid("guided_choice", "guided_choice must be a non-empty list of strings.");
        }
        List<Expr> options = new ArrayList<>();
        for (JsonNode c : v) {
            if (!c.isString() || c.asString().isEmpty()) {
                throw ApiException.invalid(
                        "guided_choice", "guided_choice must be a non-empty list of non-empty strings.");
            }
            options.add(Expr.literal(c.asString()));
        }
        return Grammar.of(Expr.alt(options));
    }

    /**
     * Fields that would change the output and that this server does not implement are a 400 naming them, never
     * ignored: a client that asked for them would otherwise take the answer for what it asked. Their neutral values
     * (e.g. a penalty of 0, {@code best_of} 1, {@code echo} false) are accepted, as clients send defaults.
     */
    private static void refuseUnsupported(JsonNode root) {
        for (String field : new String[] {"presence_penalty", "frequency_penalty"}) {
            JsonNode v = root.get(field);
            if (v != null && !v.isNull() && !(v.isNumber() && v.asDouble() == 0)) {
                throw unsupported(field, "penalties are not implemented; send 0 or leave it out");
            }
        }
        JsonNode repetition = root.get("repetition_penalty");
        if (repetition != null && !repetition.isNull() && !(repetition.isNumber() && repetition.asDouble() == 1)) {
            throw unsupported("repetition_penalty", "penalties are not implemented; send 1 or leave it out");
        }
        JsonNode echo = root.get("echo");
        if (echo != null && !echo.isNull() && !(echo.isBoolean() && !echo.asBoolean())) {
            throw unsupported("echo", "echoing the prompt is not implemented");
        }
        JsonNode bestOf = root.get("best_of");
        if (bestOf != null && !bestOf.isNull() && !(bestOf.isIntegralNumber() && bestOf.asInt() == 1)) {
            throw unsupported("best_of", "best_of other than 1 is not implemented; use n for several choices");
        }
        for (String field : new String[] {"suffix", "functions", "guided_grammar"}) {
            JsonNode v = root.get(field);
            if (v != null
                    && !v.isNull()
                    && !((v.isArray() || v.isObject()) && v.isEmpty())
                    && !(v.isString() && v.asString().isEmpty())) {
                throw unsupported(field, field + " is not implemented");
            }
        }
        JsonNode call = root.get("function_call");
        if (call != null
                && !call.isNull()
                && !(call.isString() && call.asString().equals("none"))) {
            throw unsupported("function_call", "the legacy function calls are not implemented; use tools");
        }
    }

    private static ApiException unsupported(String field, String why) {
        return ApiException.invalid(field, "Unsupported field '" + field + "': " + why + ".");
    }

    static String prompt(JsonNode root) {
        JsonNode p = root.get("prompt");
        if (p == null || p.isNull()) {
            throw ApiException.invalid("prompt", "The 'prompt' field is required.");
        }
        if (p.isString()) {
            return p.asString();
        }
        if (p.isArray() && p.size() == 1 && p.get(0).isString()) {
            return p.get(0).asString();
        }
        throw ApiException.invalid("prompt", "prompt must be a string or a list of one string.");
    }

    static List<ChatMessage> messages(JsonNode root) {
        JsonNode list = root.get("messages");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw ApiException.invalid("messages", "messages must be a non-empty list of messages.");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String at = "messages[" + i + "]";
            if (!m.isObject()) {
                throw ApiException.invalid(at, at + " must be an object with 'role' and 'content'.");
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isString() || role.asString().isBlank()) {
                throw ApiException.invalid(at + ".role", at + ".role must be a string.");
            }
            Map<String, Object> extra = new LinkedHashMap<>();
            JsonNode calls = m.get("tool_calls");
            if (calls != null && !calls.isNull()) {
                extra.put("tool_calls", toolCalls(calls, at + ".tool_calls"));
            }
            for (String key : new String[] {"tool_call_id", "name"}) {
                JsonNode v = m.get(key);
                if (v != null && !v.isNull()) {
                    if (!v.isString()) {
                        throw ApiException.invalid(at + "." + key, at + "." + key + " must be a string.");
                    }
                    extra.put(key, v.asString());
                }
            }
            JsonNode reasoning = m.get("reasoning_content");
            String thinking = reasoning != null && reasoning.isString() ? reasoning.asString() : null;
            messages.add(new ChatMessage(role.asString(), content(m.get("content"), at + ".content"), thinking, extra));
        }
        return messages;
    }

    /**
     * An assistant turn's {@code tool_calls}, for the template: each {@code {"id", "type", "function": {"name",
     * "arguments"}}} with the arguments (a JSON string in OpenAI's shape) parsed into an object, as vLLM hands them to
     * templates (which write them with {@code tojson}).
     */
    private static List<Object> toolCalls(JsonNode calls, String at) {
        if (!calls.isArray()) {
            throw ApiException.invalid(at, at + " must be a list of tool calls.");
        }
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            JsonNode c = calls.get(i);
            JsonNode f = c.path("function");
            if (!c.isObject() || !f.path("name").isString()) {
                throw ApiException.invalid(
                        at + "[" + i + "]",
                        at + "[" + i
                                + "] must be {\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}.");
            }
            Map<String, Object> function = new LinkedHashMap<>();
            function.put("name", f.get("name").asString());
            JsonNode args = f.get("arguments");
            Object arguments = Map.of();
            if (args != null && args.isString()) {
                try {
                    arguments = plain(JSON.readTree(args.asString()));
                } catch (JacksonException e) {
                    arguments = args.asString();
                }
            } else if (args != null && !args.isNull()) {
                arguments = plain(args);
            }
            function.put("arguments", arguments);
            Map<String, Object> call = new LinkedHashMap<>();
            call.put("id", c.path("id").asString(""));
            call.put("type", "function");
            call.put("function", function);
            out.add(call);
        }
        return out;
    }

    /** A message's content: a string, or a list of {@code {"type": "text", "text": ...}} parts, joined. */
    private static String content(JsonNode c, String at) {
        if (c == null || c.isNull()) {
            return "";
        }
        if (c.isString()) {
            return c.asString();
        }
        if (c.isArray()) {
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < c.size(); i++) {
                JsonNode part = c.get(i);
                if (!part.isObject()
                        || !"text".equals(part.path("type").asString(""))
                        || !part.path("text").isString()) {
                    throw ApiException.invalid(
                            at + "[" + i + "]",
                            at + "[" + i + "] must be a text part"
                                    + " {\"type\": \"text\", \"text\": ...}; other content types are not supported.");
                }
                text.append(part.get("text").asString());
            }
            return text.toString();
        }
        throw ApiException.invalid(at, at + " must be a string or a list of text parts.");
    }

    private static List<String> stop(JsonNode root) {
        JsonNode s = root.get("stop");
        List<String> stop = new ArrayList<>();
        if (s == null || s.isNull()) {
            return stop;
        }
        if (s.isString()) {
            stop.add(s.asString());
        } else if (s.isArray()) {
            for (JsonNode e : s) {
                if (!e.isString()) {
                    throw ApiException.invalid("stop", "stop must be a string or a list of strings.");
                }
                stop.add(e.asString());
            }
        } else {
            throw ApiException.invalid("stop", "stop must be a string or a list of strings.");
        }
        if (stop.stream().anyMatch(String::isEmpty)) {
            throw ApiException.invalid("stop", "stop strings must not be empty.");
        }
        if (stop.size() > MAX_STOP_STRINGS) {
            throw ApiException.invalid(
                    "stop", "at most " + MAX_STOP_STRINGS + " stop strings are allowed, got " + stop.size() + ".");
        }
        long bytes = stop.stream()
                .mapToLong(x -> x.getBytes(StandardCharsets.UTF_8).length)
                .sum();
        if (bytes > MAX_STOP_BYTES) {
            throw ApiException.invalid(
                    "stop", "stop strings may take " + MAX_STOP_BYTES + " bytes in all (UTF-8), got " + bytes + ".");
        }
        return stop;
    }

    private static int chatLogprobs(JsonNode root) {
        boolean logprobs = optionalBoolean(root, "logprobs");
        Integer top = optionalInt(root, "top_logprobs", 0, MAX_TOP_LOGPROBS);
        if (top != null && !logprobs) {
            throw ApiException.invalid("top_logprobs", "top_logprobs needs logprobs set to true.");
        }
        return logprobs ? (top == null ? 0 : top) : -1;
    }

    static String optionalString(JsonNode root, String field) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isString()) {
            throw ApiException.invalid(field, field + " must be a string.");
        }
        return v.asString();
    }

    static boolean optionalBoolean(JsonNode root, String field) {
        return optionalBoolean(root, field, field);
    }

    private static boolean optionalBoolean(JsonNode root, String field, String name) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw ApiException.invalid(name, name + " must be true or false.");
        }
        return v.asBoolean();
    }

    private static Integer optionalInt(JsonNode root, String field, int min, int max) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min || v.asInt() > max) {
            throw ApiException.invalid(
                    field,
                    field + " must be an integer from " + min + (max == Integer.MAX_VALUE ? " on" : " to " + max)
                            + ", got " + v + ".");
        }
        return v.asInt();
    }

    private static int optionalIntOr(JsonNode root, String field, int min, int max, int absent) {
        Integer v = optionalInt(root, field, min, max);
        return v == null ? absent : v;
    }

    private static Long optionalLong(JsonNode root, String field) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw ApiException.invalid(field, field + " must be a 64-bit integer, got " + v + ".");
        }
        return v.asLong();
    }

    private static Float optionalFloat(JsonNode root, String field, float min, float max) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber() || !(v.asDouble() >= min && v.asDouble() <= max)) {
            throw ApiException.invalid(
                    field, field + " must be a number from " + min + " to " + max + ", got " + v + ".");
        }
        return (float) v.asDouble();
    }
}
