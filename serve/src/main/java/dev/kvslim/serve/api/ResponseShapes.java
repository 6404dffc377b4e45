package dev.kvslim.serve.api;

import dev.kvslim.serve.schedule.Sequence;
import dev.kvslim.serve.schedule.TokenEvent;
import java.nio.charset.StandardCharsets;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The JSON objects of OpenAI's completion and chat completion responses, whole and as stream chunks, with the field
 * names and nesting vLLM uses ({@code chat.completion}, {@code chat.completion.chunk}, {@code text_completion}).
 */
final class ResponseShapes {

    static final JsonMapper JSON = JsonMapper.builder().build();

    private final boolean chat;
    private final String id;
    private final long created;
    private final String model;

    ResponseShapes(boolean chat, String id, long created, String model) {
        this.chat = chat;
        this.id = id;
        this.created = created;
        this.model = model;
    }

    private ObjectNode envelope(boolean chunk) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", id);
        o.put("object", chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion");
        o.put("created", created);
        o.put("model", model);
        return o;
    }

    /** A stream chunk for one choice: its new text (with the role on a chat's first chunk), and how it ended, if it did. */
    String chunk(int index, String text, boolean role, List<TokenEvent> logprobs, String finishReason) {
        return chunk(index, text, role, logprobs, 0, finishReason);
    }

    /**
     * As above, the completions API's {@code text_offset} of the chunk's first token being {@code textOffset}: where
     * its text starts in the choice's whole text.
     */
    String chunk(int index, String text, boolean role, List<TokenEvent> logprobs, int textOffset, String finishReason) {
        ObjectNode o = envelope(true);
        ObjectNode choice = o.putArray("choices").addObject();
        choice.put("index", index);
        if (chat) {
            ObjectNode delta = choice.putObject("delta");
            if (role) {
                delta.put("role", "assistant");
            }
            delta.put("content", text);
        } else {
            choice.put("text", text);
        }
        logprobs(choice, logprobs, textOffset);
        choice.put("finish_reason", finishReason);
        if (!chat || finishReason != null) {
            choice.putNull("stop_reason");
        }
        return o.toString();
    }

    /** A chat stream chunk with one piece of the message (content, thinking or a tool call's part). */
    String deltaChunk(int index, ChatOutput.Delta d, List<TokenEvent> logprobs) {
        ObjectNode o = envelope(true);
        ObjectNode choice = o.putArray("choices").addObject();
        choice.put("index", index);
        ObjectNode delta = choice.putObject("delta");
        switch (d) {
            case ChatOutput.Content c -> delta.put("content", c.text());
            case ChatOutput.Reasoning r -> delta.put("reasoning_content", r.text());
            case ChatOutput.ToolCallStart s -> {
                ObjectNode call = delta.putArray("tool_calls").addObject();
                call.put("index", s.index());
                call.put("id", s.id());
                call.put("type", "function");
                ObjectNode f = call.putObject("function");
                f.put("name", s.name());
                f.put("arguments", "");
            }
            case ChatOutput.ToolCallArguments a -> {
                ObjectNode call = delta.putArray("tool_calls").addObject();
                call.put("index", a.index());
                call.putObject("function").put("arguments", a.text());
            }
        }
        logprobs(choice, logprobs, 0);
        choice.putNull("finish_reason");
        return o.toString();
    }

    /** A chat stream's last chunk of a choice: an empty delta and the finish reason. */
    String finishChunk(int index, String finishReason) {
        ObjectNode o = envelope(true);
        ObjectNode choice = o.putArray("choices").addObject();
        choice.put("index", index);
        choice.putObject("delta");
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason);
        choice.putNull("stop_reason");
        return o.toString();
    }

    /** The stream's last chunk when usage is asked for: no choices, only the token counts. */
    String usageChunk(int prompt, int completion, int cached, Sequence.Timings timings, int firstChoiceTokens) {
        ObjectNode o = envelope(true);
        o.putArray("choices");
        usage(o, prompt, completion, cached);
        timings(o, prompt, cached, timings, firstChoiceTokens);
        return o.toString();
    }

    /** A whole response. */
    String response(
            List<String> texts,
            List<List<TokenEvent>> logprobs,
            List<String> finishReasons,
            int prompt,
            int completion,
            int cached,
            Sequence.Timings timings,
            int firstChoiceTokens,
            List<ChatOutput> outputs) {
        ObjectNode o = envelope(false);
        ArrayNode choices = o.putArray("choices");
        for (int i = 0; i < texts.size(); i++) {
            ObjectNode choice = choices.addObject();
            choice.put("index", i);
            if (chat) {
                ObjectNode message = choice.putObject("message");
                message.put("role", "assistant");
                if (outputs == null) {
                    message.put("content", texts.get(i));
                } else {
                    message(message, outputs.get(i));
                }
            } else {
                choice.put("text", texts.get(i));
            }
            logprobs(choice, logprobs.get(i), 0);
            choice.put("finish_reason", finishReasons.get(i));
            choice.putNull("stop_reason");
        }
        usage(o, prompt, completion, cached);
        timings(o, prompt, cached, timings, firstChoiceTokens);
        return o.toString();
    }

    /**
     * Per-request timings of the first choice in llama.cpp's server's shape ({@code timings}): the prompt tokens
     * computed ({@code prompt_n}, those found in the prefix cache are {@code cache_n}) and the time to the first
     * token, the tokens generated ({@code predicted_n}) and the time from the first to the last (its rate counts the
     * tokens after the first), and the time spent waiting for KV memory ({@code queue_ms}).
     */
    private static void timings(ObjectNode o, int prompt, int cached, Sequence.Timings t, int predicted) {
        ObjectNode timings = o.putObject("timings");
        int computed = prompt - cached;
        timings.put("cache_n", cached);
        timings.put("queue_ms", t.queueMs());
        timings.put("prompt_n", computed);
        timings.put("prompt_ms", t.promptMs());
        timings.put("prompt_per_token_ms", computed == 0 ? 0 : t.promptMs() / computed);
        timings.put("prompt_per_second", t.promptMs() == 0 ? 0 : computed * 1000 / t.promptMs());
        timings.put("predicted_n", predicted);
        timings.put("predicted_ms", t.predictedMs());
        timings.put("predicted_per_token_ms", predicted < 2 ? 0 : t.predictedMs() / (predicted - 1));
        timings.put("predicted_per_second", t.predictedMs() == 0 ? 0 : (predicted - 1) * 1000 / t.predictedMs());
    }

    /** A parsed chat message: content (null when only calls), its thinking and its tool calls, as vLLM writes them. */
    private static void message(ObjectNode message, ChatOutput out) {
        message.put("content", out.content());
        if (out.reasoning() != null) {
            message.put("reasoning_content", out.reasoning());
        }
        ArrayNode calls = message.putArray("tool_calls");
        for (ChatOutput.ToolCall c : out.toolCalls()) {
            ObjectNode call = calls.addObject();
            call.put("id", c.id());
            call.put("type", "function");
            ObjectNode f = call.putObject("function");
            f.put("name", c.name());
            f.put("arguments", c.arguments());
        }
    }

    private static void usage(ObjectNode o, int prompt, int completion, int cached) {
        ObjectNode usage = o.putObject("usage");
        usage.put("prompt_tokens", prompt);
        usage.put("total_tokens", prompt + completion);
        usage.put("completion_tokens", completion);
        usage.putObject("prompt_tokens_details").put("cached_tokens", cached);
    }

    /** Log probabilities: chat's {@code {"content": [...]}} or the completions API's parallel lists; null when not asked. */
    private void logprobs(ObjectNode choice, List<TokenEvent> tokens, int textOffset) {
        if (tokens == null) {
            choice.putNull("logprobs");
            return;
        }
        ObjectNode lp = choice.putObject("logprobs");
        if (chat) {
            ArrayNode content = lp.putArray("content");
            for (TokenEvent t : tokens) {
                ObjectNode item = candidate(
                        content.addObject(), t.logprobs().piece(), t.logprobs().logprob());
                ArrayNode top = item.putArray("top_logprobs");
                for (TokenEvent.Candidate c : t.logprobs().top()) {
                    candidate(top.addObject(), c.piece(), c.logprob());
                }
            }
        } else {
            ArrayNode offsets = lp.putArray("text_offset");
            ArrayNode values = lp.putArray("token_logprobs");
            ArrayNode pieces = lp.putArray("tokens");
            ArrayNode tops = lp.putArray("top_logprobs");
            int offset = textOffset;
            for (TokenEvent t : tokens) {
                offsets.add(offset);
                offset += t.text().length();
                values.add(t.logprobs().logprob());
                pieces.add(t.logprobs().piece());
                ObjectNode top = tops.addObject();
                for (TokenEvent.Candidate c : t.logprobs().top()) {
                    top.put(c.piece(), c.logprob());
                }
            }
        }
    }

    private static ObjectNode candidate(ObjectNode o, String piece, float logprob) {
        o.put("token", piece);
        o.put("logprob", logprob);
        ArrayNode bytes = o.putArray("bytes");
        for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xFF);
        }
        return o;
    }

    /** OpenAI's error object. */
    static String error(ApiException e) {
        ObjectNode o = JSON.createObjectNode();
        ObjectNode error = o.putObject("error");
        error.put("message", e.getMessage());
        error.put("type", e.type());
        error.put("param", e.param());
        error.put("code", e.code());
        return o.toString();
    }

    static JsonNode tree(String json) {
        return JSON.readTree(json);
    }
}
