package dev.kvslim.core.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.io.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading chat templates out of tokenizer_config.json files, and the errors that name the file. */
class ChatTemplateLoadTest {

    @TempDir
    Path dir;

    private Path config(String json) throws IOException {
        return Files.writeString(dir.resolve("tokenizer_config.json"), json);
    }

    @Test
    void tokensMayBeAddedTokenObjects() throws IOException {
        ChatTemplate template = ChatTemplate.load(config("""
                {"bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
                 "eos_token": {"content": "</s>"},
                 "chat_template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}
                """));
        assertThat(template.bosToken()).isEqualTo("<s>");
        assertThat(template.eosToken()).isEqualTo("</s>");
        assertThat(template.render(List.of(new ChatMessage("user", "hi")), false, Map.of()))
                .isEqualTo("<s>hi</s>");
    }

    @Test
    void namedTemplatesTakeTheDefault() throws IOException {
        ChatTemplate template = ChatTemplate.load(config("""
                {"chat_template": [{"name": "tool_use", "template": "tools"},
                                   {"name": "default", "template": "plain {{ messages|length }}"}]}
                """));
        assertThat(template.render(List.of(new ChatMessage("user", "hi")), false, Map.of()))
                .isEqualTo("plain 1");
    }

    @Test
    void namedTemplatesWithoutDefaultAreAnError() throws IOException {
        Path file = config("{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"x\"}]}");
        assertThatThrownBy(() -> ChatTemplate.load(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("none named \"default\"");
    }

    @Test
    void missingChatTemplateIsAClearError() throws IOException {
        Path file = config("{\"bos_token\": \"<s>\"}");
        assertThatThrownBy(() -> ChatTemplate.load(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageStartingWith(file.toString())
                .hasMessageContaining("has no chat_template");
        Path nullTemplate = config("{\"chat_template\": null}");
        assertThatThrownBy(() -> ChatTemplate.load(nullTemplate)).hasMessageContaining("has no chat_template");
    }

    @Test
    void malformedJsonNamesTheFile() throws IOException {
        Path file = config("{\"chat_template\": \"{{ x }}\",");
        assertThatThrownBy(() -> ChatTemplate.load(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageStartingWith(file.toString())
                .hasMessageContaining("not valid JSON");
        Path array = config("[1, 2]");
        assertThatThrownBy(() -> ChatTemplate.load(array))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("not a JSON object");
    }

    @Test
    void missingFileNamesTheFile() {
        Path file = dir.resolve("absent.json");
        assertThatThrownBy(() -> ChatTemplate.load(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessage(file + ": no such file");
    }

    @Test
    void wrongTypesAreErrors() throws IOException {
        Path number = config("{\"chat_template\": 42}");
        assertThatThrownBy(() -> ChatTemplate.load(number))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("neither a string nor a list");
        Path bos = config("{\"chat_template\": \"x\", \"bos_token\": 1}");
        assertThatThrownBy(() -> ChatTemplate.load(bos))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("bos_token");
    }

    @Test
    void templateSyntaxErrorNamesTheFileAndLine() throws IOException {
        Path file = config("{\"chat_template\": \"line one\\n{% if x %}\\nnever closed\"}");
        ChatTemplate template = ChatTemplate.load(file);
        assertThatThrownBy(() -> template.render(List.of(), false, Map.of()))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageStartingWith(file + ": chat template: line 2: ")
                .hasMessageContaining("endif");
        Path unclosed = config("{\"chat_template\": \"a\\n\\n{{ 'x' \"}");
        assertThatThrownBy(() -> ChatTemplate.load(unclosed))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage(unclosed + ": chat template: line 3: unexpected end of template: the expression"
                        + " opened here is never closed");
    }

    @Test
    void raiseExceptionGivesTheTemplatesMessage() throws IOException {
        Path file = config("""
                {"chat_template":
                 "{% if messages[0].role != 'user' %}{{ raise_exception('roles must alternate') }}{% endif %}ok"}
                """);
        ChatTemplate template = ChatTemplate.load(file);
        assertThat(template.render(List.of(new ChatMessage("user", "u")), false, Map.of()))
                .isEqualTo("ok");
        assertThatThrownBy(() -> template.render(List.of(new ChatMessage("assistant", "a")), false, Map.of()))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage(file + ": chat template: raise_exception: roles must alternate");
    }

    @Test
    void reservedVariablesCannotBeOverridden() {
        ChatTemplate template = ChatTemplate.of("test", "{{ bos_token }}", "<s>", null);
        assertThat(template.render(List.of(), false, Map.of("bos_token", "<B>")))
                .isEqualTo("<B>");
        assertThatThrownBy(() -> template.render(List.of(), false, Map.of("messages", List.of())))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> template.render(List.of(), false, Map.of("add_generation_prompt", true)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
