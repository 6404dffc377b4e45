package dev.kvslim.serve.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Taking chat output apart: each case is fed whole and one character at a time, and both must give the same message
 * (content, thinking, calls), with the streamed pieces adding up to it.
 */
class ChatOutputTest {

    record Message(String content, String reasoning, List<String> calls) {}

    /** Feeds {@code text} in pieces of {@code step} characters and checks the streamed deltas add up. */
    private static Message run(ChatOutput.Tools tools, String named, boolean opened, String text, int step) {
        ChatOutput out = new ChatOutput(true, opened, tools, named);
        List<ChatOutput.Delta> deltas = new ArrayList<>();
        for (int i = 0; i < text.length(); i += step) {
            deltas.addAll(out.feed(text.substring(i, Math.min(text.length(), i + step))));
        }
        deltas.addAll(out.finish());
        StringBuilder content = new StringBuilder(), reasoning = new StringBuilder();
        List<StringBuilder> args = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (ChatOutput.Delta d : deltas) {
            switch (d) {
                case ChatOutput.Content c -> content.append(c.text());
                case ChatOutput.Reasoning r -> reasoning.append(r.text());
                case ChatOutput.ToolCallStart s -> {
                    assertThat(s.index()).isEqualTo(names.size());
                    assertThat(s.id()).startsWith("call_");
                    names.add(s.name());
                    args.add(new StringBuilder());
                }
                case ChatOutput.ToolCallArguments a -> args.get(a.index()).append(a.text());
            }
        }
        List<String> calls = new ArrayList<>();
        for (ChatOutput.ToolCall c : out.toolCalls()) {
            calls.add(c.name() + " " + c.arguments());
        }
        List<String> streamed = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            streamed.add(names.get(i) + " " + args.get(i));
        }
        assertThat(streamed).as("streamed calls").isEqualTo(calls);
        assertThat(content.toString()).as("streamed content").isEqualTo(out.content() == null ? "" : out.content());
        assertThat(reasoning.toString())
                .as("streamed thinking")
                .isEqualTo(out.reasoning() == null ? "" : out.reasoning());
        return new Message(out.content(), out.reasoning(), calls);
    }

    private static Message both(ChatOutput.Tools tools, String named, boolean opened, String text) {
        Message whole = run(tools, named, opened, text, Integer.MAX_VALUE);
        assertThat(run(tools, named, opened, text, 1))
                .as("fed one character at a time")
                .isEqualTo(whole);
        assertThat(run(tools, named, opened, text, 3)).as("fed three at a time").isEqualTo(whole);
        return whole;
    }

    @Test
    void hermesCallsAfterSomeText() {
        Message m = both(
                ChatOutput.Tools.AUTO,
                null,
                false,
                "Let me check. <tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
                        + "<tool_call>{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}</tool_call>");
        assertThat(m.content()).isEqualTo("Let me check. "); // streamed before the call was seen, space and all
        assertThat(m.calls()).containsExactly("get_weather {\"city\":\"Paris\"}", "add {\"a\":1,\"b\":2}");
    }

    @Test
    void llamaJsonCallsWithAndWithoutThePythonTag() {
        assertThat(both(ChatOutput.Tools.AUTO, null, false, "{\"name\": \"f\", \"parameters\": {\"x\": 1}}")
                        .calls())
                .containsExactly("f {\"x\":1}");
        Message tagged = both(
                ChatOutput.Tools.AUTO,
                null,
                false,
                "<|python_tag|>{\"name\": \"g\", \"parameters\": {}}; {\"name\":"
                        + " \"f\", \"arguments\": \"{\\\"y\\\": 2}\"}");
        assertThat(tagged.calls()).containsExactly("g {}", "f {\"y\": 2}");
        assertThat(tagged.content()).isNull();
    }

    @Test
    void whatIsNotACallStaysContent() {
        assertThat(both(ChatOutput.Tools.AUTO, null, false, "{\"answer\": 42}"))
                .isEqualTo(new Message("{\"answer\": 42}", null, List.of()));
        assertThat(both(ChatOutput.Tools.AUTO, null, false, "See <tool_call>{broken</tool_call> here"))
                .isEqualTo(new Message("See <tool_call>{broken</tool_call> here", null, List.of()));
        assertThat(both(ChatOutput.Tools.AUTO, null, false, "a < b and <tool"))
                .isEqualTo(new Message("a < b and <tool", null, List.of()));
        assertThat(both(
                                ChatOutput.Tools.NONE,
                                null,
                                false,
                                "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>")
                        .calls())
                .isEmpty();
    }

    @Test
    void thinkingIsSeparatedFromTheAnswer() {
        assertThat(both(ChatOutput.Tools.NONE, null, false, "<think>\nsix times seven</think>\n\nIt is 42."))
                .isEqualTo(new Message("It is 42.", "\nsix times seven", List.of()));
        // the prompt opened the thinking (Qwen3-2507 templates): the output has only the closing tag
        assertThat(both(ChatOutput.Tools.NONE, null, true, "hmm</think>Yes"))
                .isEqualTo(new Message("Yes", "hmm", List.of()));
        // no thinking at all
        assertThat(both(ChatOutput.Tools.NONE, null, false, "Just <b>this</b>."))
                .isEqualTo(new Message("Just <b>this</b>.", null, List.of()));
        // thinking, then a call
        Message m = both(
                ChatOutput.Tools.AUTO,
                null,
                false,
                "<think>the user wants weather</think>\n<tool_call>{\"name\": \"w\", \"arguments\": {}}</tool_call>");
        assertThat(m).isEqualTo(new Message(null, "the user wants weather", List.of("w {}")));
    }

    @Test
    void namedAndRequiredCallsComeFromTheirGrammarsText() {
        assertThat(both(ChatOutput.Tools.NAMED, "get_weather", false, "{\"city\": \"Rome\"}"))
                .isEqualTo(new Message(null, null, List.of("get_weather {\"city\": \"Rome\"}")));
        assertThat(both(
                        ChatOutput.Tools.REQUIRED,
                        null,
                        false,
                        "[{\"name\": \"a\", \"parameters\": {\"x\": 1}}, {\"name\": \"b\", \"parameters\": {}}]"))
                .isEqualTo(new Message(null, null, List.of("a {\"x\":1}", "b {}")));
        // cut short by max_tokens: the calls written whole stand; with none, what was written is content
        assertThat(both(
                        ChatOutput.Tools.REQUIRED,
                        null,
                        false,
                        "[{\"name\": \"a\", \"parameters\": {}}, {\"name\": \"b\""))
                .isEqualTo(new Message(null, null, List.of("a {}")));
        assertThat(both(ChatOutput.Tools.REQUIRED, null, false, "[{\"name\": \"a\", \"para"))
                .isEqualTo(new Message("[{\"name\": \"a\", \"para", null, List.of()));
    }

    @Test
    void finishReasonSaysToolCallsOnlyWhenCallsEndedNormally() {
        ChatOutput out = new ChatOutput(false, false, ChatOutput.Tools.NAMED, "f");
        out.feed("{}");
        out.finish();
        assertThat(out.finishReason("stop")).isEqualTo("tool_calls");
        assertThat(out.finishReason("length")).isEqualTo("length");
        ChatOutput plain = new ChatOutput(false, false, ChatOutput.Tools.AUTO, null);
        plain.feed("hello");
        plain.finish();
        assertThat(plain.finishReason("stop")).isEqualTo("stop");
    }
}
