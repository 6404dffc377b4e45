package dev.kvslim.core.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Python Jinja2 behaviours chat templates rely on, one test for each that Jinjava lacks or does differently and
 * this package supplies, plus the ones Jinjava already shares that the fixture templates need. Expected values are
 * what Python Jinja2 3.1 prints in transformers' environment.
 */
class PythonCompatibilityTest {

    private static final List<ChatMessage> MESSAGES = List.of(
            new ChatMessage("system", "S"),
            new ChatMessage("user", "U1"),
            new ChatMessage("assistant", "A"),
            new ChatMessage("user", "U2"));

    private static String render(String template) {
        return render(template, Map.of());
    }

    private static String render(String template, Map<String, ?> variables) {
        return ChatTemplate.of("test", template, "<s>", "</s>").render(MESSAGES, false, variables);
    }

    @Test
    void negativeIndexesAndSlices() {
        assertThat(render("{{ messages[-1].content }}|{{ messages[1:]|length }}|{{ messages[:-1][-1].role }}"))
                .isEqualTo("U2|3|assistant");
    }

    @Test
    void reversingSlice() {
        // Jinjava's parser has no slice step; [::-1] is rewritten to |reverse outside string literals.
        assertThat(render("{% for m in messages[::-1] %}{{ m.content }} {% endfor %}|{{ '[::-1]' }}"))
                .isEqualTo("U2 A U1 S |[::-1]");
    }

    @Test
    void startswithAndEndswith() {
        assertThat(render("{{ 'abc'.startswith('ab') }} {{ 'abc'.startswith('b') }} {{ 'abc'.endswith('bc') }}"
                        + " {{ 'abc'.endswith(('x', 'c')) }}"))
                .isEqualTo("True False True True");
    }

    @Test
    void stripFamily() {
        assertThat(render("[{{ ' \u00a0x \\n'.strip() }}][{{ '\\n\\nx\\n'.lstrip('\\n') }}]"
                        + "[{{ '\\nx\\n\\n'.rstrip('\\n') }}][{{ 'xxaxx'.strip('x') }}]"))
                .isEqualTo("[x][x\n][\nx][a]");
    }

    @Test
    void splitKeepsEmptyPiecesAndTakesThePlainSeparator() {
        // Java's String.split would read '|' as a regex and drop trailing empty pieces.
        assertThat(render("{{ 'a|b||c|'.split('|') }} {{ '  a  b '.split() }}"
                        + " {{ 'x</think>y'.split('</think>')[-1] }}"))
                .isEqualTo("['a', 'b', '', 'c', ''] ['a', 'b'] y");
        assertThatThrownBy(() -> render("{{ 'a'.split('') }}")).hasMessageContaining("empty separator");
    }

    @Test
    void keywordArgumentTakesAWholeExpression() {
        // Jinjava alone parses this as (last=messages|length) - 1.
        assertThat(render("{% set ns = namespace(flag=true, last=messages|length - 1) %}"
                        + "{% for m in messages %}{% set ns.flag = false %}{% endfor %}{{ ns.last }} {{ ns.flag }}"))
                .isEqualTo("3 False");
    }

    @Test
    void loopFilterCountsOnlyTheKeptItems() {
        assertThat(render("{% for k, v in {'a': 1, 'return': 2, 'c': 3}.items() if k != 'return' %}"
                        + "{{ k }}={{ v }}{{ ',' if not loop.last }}{% endfor %}"))
                .isEqualTo("a=1,c=3");
        assertThat(render("{% for m in messages if m.role == 'user' %}{{ loop.index }}/{{ loop.length }}"
                        + "{{ m.content }} {% endfor %}"))
                .isEqualTo("1/2U1 2/2U2 ");
    }

    @Test
    void toJsonIsPythonsJsonDumps() {
        assertThat(render("{{ {'name': 'f', 'n': [1, 2.5, true, none], 'text': '日本 \"q\"\\n'}|tojson }}"))
                .isEqualTo("{\"name\": \"f\", \"n\": [1, 2.5, true, null], \"text\": \"日本 \\\"q\\\"\\n\"}");
        assertThat(render("{{ {'a': [1], 'b': {}}|tojson(indent=2) }}"))
                .isEqualTo("{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}");
        assertThat(render("{{ tools|tojson }}", Map.of("tools", List.of(Map.of("x", 1e-5)))))
                .isEqualTo("[{\"x\": 1e-05}]");
    }

    @Test
    void trimStripsUnicodeWhitespace() {
        assertThat(render("[{{ '\u3000 hi\u00a0\\n'|trim }}]")).isEqualTo("[hi]");
    }

    @Test
    void booleansPrintAsPython() {
        assertThat(render("{{ true }} {{ messages is defined }} {{ x is defined }}"))
                .isEqualTo("True True False");
    }

    @Test
    void testsBindTighterThanNot() {
        assertThat(render("{{ not tools is defined }} {{ not messages is defined }}"))
                .isEqualTo("True False");
    }

    @Test
    void isTestsTheTemplatesUse() {
        assertThat(render(
                        "{{ flag is false }} {{ 0 is false }} {{ none is none }} {{ 'x' is string }}"
                                + " {{ messages is iterable }} {{ messages[0] is mapping }}",
                        Map.of("flag", false)))
                .isEqualTo("True False True True True True");
    }

    @Test
    void loopVariablesAndMembership() {
        assertThat(render("{% for m in messages %}{{ loop.index0 }}{{ 'F' if loop.first }}{{ 'L' if loop.last }}"
                        + "{% endfor %} {{ '</think>' in 'a</think>b' }} {{ 'x' not in 'abc' }}"))
                .isEqualTo("0F123L True True");
    }

    @Test
    void strftimeNowUsesTheTemplatesClockAndIsDefined() {
        Clock clock = Clock.fixed(LocalDateTime.of(2024, 7, 26, 14, 5).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);
        ChatTemplate template = ChatTemplate.of(
                        "test",
                        "{% if strftime_now is defined %}{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%A %H:%M') }}"
                                + "{% endif %}",
                        null,
                        null)
                .withClock(clock);
        assertThat(template.render(List.of(), false, Map.of())).isEqualTo("26 Jul 2024|Friday 14:05");
    }

    @Test
    void raiseExceptionIsDefinedAndThrows() {
        assertThat(render("{{ raise_exception is defined }}")).isEqualTo("True");
        assertThatThrownBy(() -> render("before{{ raise_exception('no system role') }}"))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("test: chat template: raise_exception: no system role");
    }

    @Test
    void messageTextIsNeverRenderedAgain() {
        ChatTemplate template = ChatTemplate.of("test", "{{ messages[0].content }}", null, null);
        assertThat(template.render(List.of(new ChatMessage("user", "{{ 1 + 1 }} {% if %}{#")), false, Map.of()))
                .isEqualTo("{{ 1 + 1 }} {% if %}{#");
    }

    @Test
    void reasoningContentIsDefinedOnlyWhenSet() {
        ChatTemplate template = ChatTemplate.of(
                "test",
                "{% for m in messages %}{{ m.reasoning_content is defined }}{{ m.reasoning_content }} {% endfor %}",
                null,
                null);
        assertThat(template.render(
                        List.of(new ChatMessage("assistant", "a"), new ChatMessage("assistant", "a", "why")),
                        false,
                        Map.of()))
                .isEqualTo("False Truewhy ");
    }
}
