package dev.kvslim.core.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The chat templates of the Qwen3 and Llama 3 fixtures' tokenizer_config.json, against prompts worked out by hand
 * from each template's text (each test says how). Every tag of the Qwen3 template is written {@code {%-}/{{-}, so
 * its own indentation and newlines never reach the output; the Llama 3 template is one line.
 */
class FixtureChatTemplateTest {

    private static final ChatMessage SYSTEM = new ChatMessage("system", "You are a helpful assistant.");
    private static final ChatMessage USER = new ChatMessage("user", "What is 2+2?");

    private static ChatTemplate qwen3() {
        return ChatTemplate.load(Fixtures.path("tokenizers/qwen3/tokenizer_config.json"));
    }

    private static ChatTemplate llama3() {
        return ChatTemplate.load(Fixtures.path("tokenizers/llama3/tokenizer_config.json"));
    }

    @Test
    void specialTokensComeFromTheConfig() {
        assertThat(qwen3().bosToken()).isNull();
        assertThat(qwen3().eosToken()).isEqualTo("<|im_end|>");
        assertThat(llama3().bosToken()).isEqualTo("<|begin_of_text|>");
        assertThat(llama3().eosToken()).isEqualTo("<|end_of_text|>");
    }

    @Test
    void qwen3SystemUserAndGenerationPrompt() {
        // No tools, messages[0] is the system message: '<|im_start|>system\n' + content + '<|im_end|>\n'. The
        // main loop skips the system message (role system and loop.first) and writes the user turn as
        // '<|im_start|>user\n' + content + '<|im_end|>\n'; add_generation_prompt adds '<|im_start|>assistant\n',
        // and nothing more since enable_thinking is undefined.
        String prompt = qwen3().render(List.of(SYSTEM, USER), true, Map.of());
        assertThat(prompt)
                .isEqualTo("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                        + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
                        + "<|im_start|>assistant\n");
    }

    @Test
    void qwen3WithoutGenerationPromptEndsWithTheLastTurn() {
        // As above without the final '<|im_start|>assistant\n'; the output's last newline stays (Jinja2 drops only
        // a trailing newline of the template source).
        assertThat(qwen3().render(List.of(SYSTEM, USER), false, Map.of()))
                .isEqualTo("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                        + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n");
    }

    @Test
    void qwen3EnableThinkingFalseAddsAnEmptyThinkBlock() {
        // enable_thinking is defined and false, so after '<|im_start|>assistant\n' the template writes
        // '<think>\n\n</think>\n\n'.
        String prompt = qwen3().render(List.of(SYSTEM, USER), true, Map.of("enable_thinking", false));
        assertThat(prompt)
                .isEqualTo("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                        + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
                        + "<|im_start|>assistant\n<think>\n\n</think>\n\n");
        assertThat(qwen3().render(List.of(SYSTEM, USER), true, Map.of("enable_thinking", true)))
                .isEqualTo(qwen3().render(List.of(SYSTEM, USER), true, Map.of()));
    }

    @Test
    void qwen3DropsTheReasoningOfEarlierAssistantTurns() {
        // Walking messages[::-1], the last user message (index 2) sets ns.last_query_index = 2. The assistant turn
        // (loop.index0 1) has no reasoning_content but contains '</think>': content becomes the part after
        // '</think>' with leading newlines stripped ("A1"); reasoning_content would be "R1", but since 1 is not
        // greater than last_query_index the turn is written as '<|im_start|>assistant\n' + content, thinking
        // dropped, then '<|im_end|>\n'.
        List<ChatMessage> conversation = List.of(
                new ChatMessage("user", "Q1"),
                new ChatMessage("assistant", "<think>\nR1\n</think>\n\nA1"),
                new ChatMessage("user", "Q2"));
        assertThat(qwen3().render(conversation, true, Map.of()))
                .isEqualTo("<|im_start|>user\nQ1<|im_end|>\n"
                        + "<|im_start|>assistant\nA1<|im_end|>\n"
                        + "<|im_start|>user\nQ2<|im_end|>\n"
                        + "<|im_start|>assistant\n");
    }

    @Test
    void qwen3KeepsTheReasoningOfTheTurnAfterTheLastQuery() {
        // Here the last user message is index 0, so the assistant turn (index 1, loop.last) is written as
        // '<|im_start|>assistant\n<think>\n' + reasoning.strip('\n') + '\n</think>\n\n' + content.lstrip('\n');
        // the reasoning comes from reasoning_content when set, else from the <think> block in content.
        String expected =
                "<|im_start|>user\nQ1<|im_end|>\n" + "<|im_start|>assistant\n<think>\nR1\n</think>\n\nA1<|im_end|>\n";
        assertThat(qwen3().render(
                                List.of(
                                        new ChatMessage("user", "Q1"),
                                        new ChatMessage("assistant", "<think>R1</think>A1")),
                                false,
                                Map.of()))
                .isEqualTo(expected);
        assertThat(qwen3().render(
                                List.of(new ChatMessage("user", "Q1"), new ChatMessage("assistant", "A1", "\nR1\n")),
                                false,
                                Map.of()))
                .isEqualTo(expected);
    }

    @Test
    void llama3SystemUserAndGenerationPrompt() {
        // For each message: '<|start_header_id|>' + role + '<|end_header_id|>\n\n' + (content | trim) +
        // '<|eot_id|>' (the filter binds to the content only), bos_token prepended for loop.index0 == 0; then the
        // assistant header and "\n\n", which this template always writes.
        String prompt = llama3().render(List.of(SYSTEM, USER), true, Map.of());
        assertThat(prompt)
                .isEqualTo("<|begin_of_text|>"
                        + "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void llama3WithoutSystemMessageStartsWithBosAndTrimsContent() {
        // The first message is the user's, so BOS goes before its header; "  Hello \n" | trim is "Hello". The
        // template ignores add_generation_prompt: the assistant header comes either way.
        List<ChatMessage> messages = List.of(new ChatMessage("user", "  Hello \n"));
        String expected = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertThat(llama3().render(messages, true, Map.of())).isEqualTo(expected);
        assertThat(llama3().render(messages, false, Map.of())).isEqualTo(expected);
    }

    @Test
    void llama3WritesBosExactlyOnce() {
        // The template writes bos_token itself, so the caller must tokenize without adding special tokens.
        String prompt = llama3().render(List.of(SYSTEM, USER, new ChatMessage("assistant", "4"), USER), true, Map.of());
        assertThat(prompt).startsWith("<|begin_of_text|><|start_header_id|>system");
        assertThat(prompt.split("<\\|begin_of_text\\|>", -1)).hasSize(2);
    }

    @Test
    void rendersConcurrently() throws Exception {
        ChatTemplate qwen3 = qwen3();
        ChatTemplate llama3 = llama3();
        List<ChatMessage> conversation = List.of(SYSTEM, USER, new ChatMessage("assistant", "<think>r</think>4"));
        String qwen3Prompt = qwen3.render(conversation, false, Map.of());
        String llama3Prompt = llama3.render(conversation, true, Map.of());
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                boolean useQwen = i % 2 == 0;
                results.add(pool.submit(() -> useQwen
                        ? qwen3.render(conversation, false, Map.of()).equals(qwen3Prompt)
                        : llama3.render(conversation, true, Map.of()).equals(llama3Prompt)));
            }
            for (Future<Boolean> result : results) {
                assertThat(result.get()).isTrue();
            }
        }
    }
}
