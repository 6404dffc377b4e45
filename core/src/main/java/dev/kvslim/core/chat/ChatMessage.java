package dev.kvslim.core.chat;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One message of a conversation, as Hugging Face chat templates see it: a {@code role} ({@code "system"},
 * {@code "user"}, {@code "assistant"}, {@code "tool"}, ...), its {@code content}, for an assistant turn optionally its
 * {@code reasoningContent}, the thinking that templates such as Qwen3's put in a {@code <think>} block (null when
 * absent; such templates also find the thinking inside {@code content}), and further keys the template reads as they
 * are ({@code extra}: an assistant turn's {@code tool_calls}, a tool result's {@code tool_call_id} and {@code name}),
 * their values maps, lists, strings, numbers, booleans or null.
 */
public record ChatMessage(String role, String content, String reasoningContent, Map<String, Object> extra) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        extra = extra == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(extra));
        for (String key : extra.keySet()) {
            if (key.equals("role") || key.equals("content") || key.equals("reasoning_content")) {
                throw new IllegalArgumentException("'" + key + "' is a field of the message, not an extra key");
            }
        }
    }

    /** A message without reasoning content or extra keys. */
    public ChatMessage(String role, String content) {
        this(role, content, null, Map.of());
    }

    /** A message without extra keys. */
    public ChatMessage(String role, String content, String reasoningContent) {
        this(role, content, reasoningContent, Map.of());
    }

    /** The message as the dict a template reads: {@code role}, {@code content}, {@code reasoning_content} if set, extras. */
    Map<String, Object> toTemplateMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("role", role);
        map.put("content", content);
        if (reasoningContent != null) {
            map.put("reasoning_content", reasoningContent);
        }
        map.putAll(extra);
        return map;
    }
}
