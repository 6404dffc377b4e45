package dev.kvslim.serve.api;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.JsonNode;

/**
 * One chat choice's text taken apart as it streams, into what OpenAI's and vLLM's chat responses carry: the thinking
 * of a reasoning model ({@code reasoning_content}: what comes before {@code </think>}, as vLLM's Qwen3 parser reads
 * it), the answer ({@code content}) and tool calls ({@code tool_calls}).
 *
 * <p>Tool calls by {@code tool_choice}: a named function or {@code required} are decoded under a grammar, so their text
 * is the call itself (the arguments, or a JSON list of {@code {"name", "parameters"}} as vLLM decodes
 * {@code required}); with {@code auto} the model writes calls in its own format, read here in the two forms the common
 * templates teach: Hermes' {@code <tool_call>{"name": ..., "arguments": {...}}</tool_call>} blocks (Qwen2.5, Qwen3)
 * and Llama 3.1's bare {@code {"name": ..., "parameters": {...}}} (after an optional {@code <|python_tag|>}). Text that
 * does not parse as calls stays content. While streaming, content goes out as it comes, except text that may be the
 * start of a call (from {@code <tool_call>} on, or an answer that opens with {@code {}), which is held to the end.
 */
final class ChatOutput {

    /** How the request's {@code tool_choice} shapes the output. */
    enum Tools {
        NONE,
        AUTO,
        REQUIRED,
        NAMED
    }

    /** One tool call: its id, the function's name and its arguments as a JSON string. */
    record ToolCall(String id, String name, String arguments) {}

    /** A piece of a streamed chat message. */
    sealed interface Delta permits Content, Reasoning, ToolCallStart, ToolCallArguments {}

    record Content(String text) implements Delta {}

    record Reasoning(String text) implements Delta {}

    /** A new tool call: the first chunk of it carries its id and name. */
    record ToolCallStart(int index, String id, String name) implements Delta {}

    /** More of a tool call's arguments. */
    record ToolCallArguments(int index, String text) implements Delta {}

    static final String THINK_OPEN = "<think>";
    static final String THINK_CLOSE = "</think>";
    static final String CALL_OPEN = "<tool_call>";
    static final String CALL_CLOSE = "</tool_call>";
    static final String PYTHON_TAG = "<|python_tag|>";
    private static final Pattern HERMES =
            Pattern.compile(Pattern.quote(CALL_OPEN) + "(.*?)(?:" + Pattern.quote(CALL_CLOSE) + "|$)", Pattern.DOTALL);

    private final boolean reasoningParser;
    private final Tools tools;
    private final String namedFunction;

    private final StringBuilder pending = new StringBuilder();
    private final StringBuilder reasoning = new StringBuilder();
    private final StringBuilder content = new StringBuilder();
    private final StringBuilder held = new StringBuilder();
    private final List<ToolCall> calls = new ArrayList<>();
    private final StringBuilder namedArguments = new StringBuilder();
    private boolean reasoningDecided;
    private boolean inReasoning;
    private boolean holding;
    private boolean afterThinking;
    private boolean finished;

    /**
     * @param reasoningParser  separate the thinking ({@code <think>...</think>}) from the answer
     * @param startsInThinking the prompt already opened the thinking (it ends with {@code <think>})
     * @param tools            what {@code tool_choice} asked for
     * @param namedFunction    the function of a named {@code tool_choice}, else null
     */
    ChatOutput(boolean reasoningParser, boolean startsInThinking, Tools tools, String namedFunction) {
        this.reasoningParser = reasoningParser;
        this.tools = tools;
        this.namedFunction = namedFunction;
        if (reasoningParser && startsInThinking) {
            reasoningDecided = true;
            inReasoning = true;
        }
        if (!reasoningParser) {
            reasoningDecided = true;
        }
    }

    /** Whether the text needs taking apart at all (otherwise it is all content, as it comes). */
    boolean active() {
        return reasoningParser || tools != Tools.NONE;
    }

    /** Takes the next text of the choice; returns what can be streamed now. */
    List<Delta> feed(String text) {
        List<Delta> out = new ArrayList<>();
        pending.append(text);
        if (!reasoningDecided) {
            String s = pending.toString().stripLeading();
            if (s.startsWith(THINK_OPEN)) {
                pending.setLength(0);
                pending.append(s.substring(THINK_OPEN.length()));
                reasoningDecided = true;
                inReasoning = true;
            } else if (THINK_OPEN.startsWith(s)) {
                return out; // may still become "<think>"
            } else {
                reasoningDecided = true;
            }
        }
        if (inReasoning) {
            int close = pending.indexOf(THINK_CLOSE);
            if (close < 0) {
                int keep = partialSuffix(pending, THINK_CLOSE);
                emitReasoning(pending.substring(0, pending.length() - keep), out);
                pending.delete(0, pending.length() - keep);
                return out;
            }
            emitReasoning(pending.substring(0, close), out);
            pending.delete(0, close + THINK_CLOSE.length());
            inReasoning = false;
            afterThinking = true;
        }
        if (afterThinking) {
            // the blank lines between the thinking and the answer belong to neither
            while (!pending.isEmpty() && Character.isWhitespace(pending.charAt(0))) {
                pending.deleteCharAt(0);
            }
            if (pending.isEmpty()) {
                return out;
            }
            afterThinking = false;
        }
        answer(out, false);
        return out;
    }

    private void emitReasoning(String text, List<Delta> out) {
        if (!text.isEmpty()) {
            reasoning.append(text);
            out.add(new Reasoning(text));
        }
    }

    /** Moves what is pending into the answer: content, held text or a named call's arguments. */
    private void answer(List<Delta> out, boolean last) {
        switch (tools) {
            case NONE -> emitContent(takePending(), out);
            case NAMED -> {
                if (calls.isEmpty()) {
                    calls.add(new ToolCall(newId(), namedFunction, ""));
                    out.add(new ToolCallStart(0, calls.getFirst().id(), namedFunction));
                }
                String text = takePending();
                if (!text.isEmpty()) {
                    namedArguments.append(text);
                    out.add(new ToolCallArguments(0, text));
                }
            }
            case REQUIRED -> held.append(takePending());
            case AUTO -> {
                if (holding) {
                    held.append(takePending());
                    return;
                }
                if (content.isEmpty()) {
                    String s = pending.toString().stripLeading();
                    if (s.startsWith("{") || s.startsWith(PYTHON_TAG)) {
                        holding = true; // Llama 3.1's form, perhaps
                        held.append(takePending());
                        return;
                    }
                    if (!last && (s.isEmpty() || PYTHON_TAG.startsWith(s))) {
                        return;
                    }
                }
                int open = pending.indexOf(CALL_OPEN);
                if (open >= 0) {
                    emitContent(pending.substring(0, open), out);
                    held.append(pending, open, pending.length());
                    pending.setLength(0);
                    holding = true;
                    return;
                }
                int keep = last ? 0 : partialSuffix(pending, CALL_OPEN);
                emitContent(pending.substring(0, pending.length() - keep), out);
                pending.delete(0, pending.length() - keep);
            }
        }
    }

    private String takePending() {
        String s = pending.toString();
        pending.setLength(0);
        return s;
    }

    private void emitContent(String text, List<Delta> out) {
        if (!text.isEmpty()) {
            content.append(text);
            out.add(new Content(text));
        }
    }

    /** The choice ended: returns what was still held, as content or calls. */
    List<Delta> finish() {
        if (finished) {
            throw new IllegalStateException("already finished");
        }
        finished = true;
        List<Delta> out = new ArrayList<>();
        reasoningDecided = true;
        if (inReasoning) {
            emitReasoning(takePending(), out); // thinking cut short: it stays thinking
            inReasoning = false;
        }
        if (afterThinking && pending.toString().isBlank()) {
            pending.setLength(0);
        }
        answer(out, true);
        switch (tools) {
            case NAMED -> calls.set(0, new ToolCall(calls.getFirst().id(), namedFunction, namedArguments.toString()));
            case REQUIRED -> {
                if (!parseRequired(held.toString())) {
                    emitContent(held.toString(), out);
                }
                streamCalls(out);
            }
            case AUTO -> {
                if (holding) {
                    String text = held.toString();
                    String outside = parseAuto(text);
                    if (outside == null) {
                        emitContent(text, out);
                    } else {
                        emitContent(outside.strip(), out);
                        streamCalls(out);
                    }
                }
            }
            case NONE -> {}
        }
        return out;
    }

    private void streamCalls(List<Delta> out) {
        for (int i = 0; i < calls.size(); i++) {
            ToolCall c = calls.get(i);
            out.add(new ToolCallStart(i, c.id(), c.name()));
            out.add(new ToolCallArguments(i, c.arguments()));
        }
    }

    /**
     * {@code [{"name": ..., "parameters": {...}}, ...]}, as the grammar of {@code required} writes it. A list cut short
     * (by {@code max_tokens}) gives the calls written whole before the cut.
     */
    private boolean parseRequired(String text) {
        List<ToolCall> parsed = new ArrayList<>();
        try (JsonParser p = ResponseShapes.JSON.createParser(text)) {
            if (p.nextToken() != JsonToken.START_ARRAY) {
                return false;
            }
            while (p.nextToken() == JsonToken.START_OBJECT) {
                ToolCall c = call(p.readValueAsTree());
                if (c == null) {
                    return false;
                }
                parsed.add(c);
            }
        } catch (JacksonException cutShort) {
            // the calls before the cut stand
        }
        calls.addAll(parsed);
        return !parsed.isEmpty();
    }

    /** The calls of an {@code auto} answer, returning the text outside them, or null if it holds no valid call. */
    private String parseAuto(String text) {
        List<ToolCall> parsed = new ArrayList<>();
        if (text.contains(CALL_OPEN)) {
            Matcher m = HERMES.matcher(text);
            StringBuilder outside = new StringBuilder();
            int last = 0;
            while (m.find()) {
                ToolCall c = call(parse(m.group(1).strip()));
                if (c == null) {
                    return null;
                }
                parsed.add(c);
                outside.append(text, last, m.start());
                last = m.end();
            }
            outside.append(text.substring(last));
            calls.addAll(parsed);
            return parsed.isEmpty() ? null : outside.toString();
        }
        String s = text.strip();
        if (s.startsWith(PYTHON_TAG)) {
            s = s.substring(PYTHON_TAG.length()).strip();
        }
        for (String part : s.split(";", -1)) {
            ToolCall c = call(parse(part.strip()));
            if (c == null) {
                return null;
            }
            parsed.add(c);
        }
        calls.addAll(parsed);
        return "";
    }

    /** A call from {@code {"name": ..., "arguments" or "parameters": {...} or "..."}}, or null. */
    private static ToolCall call(JsonNode item) {
        if (item == null || !item.isObject() || !item.path("name").isString()) {
            return null;
        }
        JsonNode args = item.has("arguments") ? item.get("arguments") : item.get("parameters");
        if (args == null) {
            return null;
        }
        String arguments = args.isString() ? args.asString() : args.toString();
        return new ToolCall(newId(), item.get("name").asString(), arguments);
    }

    private static JsonNode parse(String text) {
        try {
            return ResponseShapes.JSON.readTree(text);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static String newId() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return "call_" + HexFormat.of().formatHex(b);
    }

    /** Length of the longest suffix of {@code text} that is a proper prefix of {@code marker}. */
    private static int partialSuffix(CharSequence text, String marker) {
        for (int k = Math.min(marker.length() - 1, text.length()); k > 0; k--) {
            boolean match = true;
            for (int i = 0; i < k && match; i++) {
                match = text.charAt(text.length() - k + i) == marker.charAt(i);
            }
            if (match) {
                return k;
            }
        }
        return 0;
    }

    /** The answer's text, or null when it is only tool calls. */
    String content() {
        String c = content.toString();
        return c.isEmpty() && !calls.isEmpty() ? null : c;
    }

    /** The thinking, or null if there was none. */
    String reasoning() {
        return reasoning.isEmpty() ? null : reasoning.toString();
    }

    List<ToolCall> toolCalls() {
        return List.copyOf(calls);
    }

    /** OpenAI's finish reason: {@code tool_calls} when the choice ended normally with calls. */
    String finishReason(String reason) {
        return reason.equals("stop") && !calls.isEmpty() ? "tool_calls" : reason;
    }
}
