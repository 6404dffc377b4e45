package dev.kvslim.core.chat;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One message of a conversation, as Hugging Face chat templates see it: a {@code role} ({@code "system"},
 * {@code "user"}, {@code "assistant"}, ...), its {@code content}, and for an assistant turn optionally its
 * {@code reasoningContent}, the thinking that templates such as Qwen3's put in a {@code <think>} block (null when
 * absent; such templates also find the thinking inside {@code content}).
 */
public record ChatMessage(String role, String content, String reasoningContent) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    /** A message without reasoning content. */
    public ChatMessage(String role, String content) {
        this(role, content, null);
    }

    /** The message as the dict a template reads: {@code role}, {@code content}, {@code reasoning_content} if set. */
    Map<String, Object> toTemplateMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("role", role);
        map.put("content", content);
        if (reasoningContent != null) {
            map.put("reasoning_content", reasoningContent);
        }
        return map;
    }
}
