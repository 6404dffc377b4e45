package dev.kvslim.core.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Whitespace as Python Jinja2 handles it with transformers' trim_blocks=True and lstrip_blocks=True (see
 * {@link Jinja2Source}); each expected string is Jinja2's output for the template.
 */
class Jinja2WhitespaceTest {

    private static String render(String template) {
        return ChatTemplate.of("test", template, null, null)
                .render(List.of(new ChatMessage("user", "u")), false, Map.of());
    }

    @Test
    void blockTagsOnTheirOwnLinesLeaveNoTrace() {
        // lstrip_blocks drops the indentation before each tag, trim_blocks the newline after it; the template's
        // trailing newline goes too (keep_trailing_newline=False).
        assertThat(render("a\n  {% if true %}\n  b\n  {% endif %}\nc\n")).isEqualTo("a\n  b\nc");
    }

    @Test
    void lstripOnlyWhenTheTagStartsItsLine() {
        // Text before the tag on the same line keeps the spaces (Jinjava's lstrip_blocks would drop them).
        assertThat(render("x  {% if true %}y{% endif %}  z")).isEqualTo("x  y  z");
        assertThat(render("text\t{% if true %}\t{% endif %}\n\t  {% if true %}X{% endif %}"))
                .isEqualTo("text\t\tX");
    }

    @Test
    void expressionsAreNeitherLstrippedNorTrimmed() {
        assertThat(render("  {{ 'y' }}\n  {% if true %}q{% endif %}\n")).isEqualTo("  y\nq");
        assertThat(render("{{ 'a' }}\n{{ 'b' }}\n")).isEqualTo("a\nb");
    }

    @Test
    void plusDisablesLstripAndTrim() {
        assertThat(render("A\n  {%+ if true %}\nB\n{% endif +%}\nC")).isEqualTo("A\n  B\n\nC");
    }

    @Test
    void minusStripsAllWhitespaceIncludingUnicode() {
        assertThat(render("A\n   {%- if true -%}   \n  B  \n   {%- endif -%}  \n C"))
                .isEqualTo("ABC");
        assertThat(render("x\u3000\u00a0\n{{- 'y' -}}\u2003\n z")).isEqualTo("xyz");
    }

    @Test
    void commentsAreDroppedAndTrimmedLikeBlocks() {
        assertThat(render("a {# c #} b\n  {# c2 #}\nz")).isEqualTo("a  b\nz");
        assertThat(render("line\n    {#- comment -#}\n  after")).isEqualTo("lineafter");
    }

    @Test
    void lineBreaksAreNormalizedAndOnlyTheSourcesLastOneDropped() {
        assertThat(render("{{- 'a' -}}\n\n  text  \n\n{{- 'b' }}\r\nend\r\n")).isEqualTo("atextb\nend");
        assertThat(render("{{ 'x\\n' }}")).isEqualTo("x\n");
    }

    @Test
    void rawBlocksAreVerbatim() {
        assertThat(render("{% raw %}{{ x }} {% if %}{% endraw %}\nafter")).isEqualTo("{{ x }} {% if %}after");
        assertThat(render("   {%- raw -%}   keep {{ }}   {%- endraw -%}   x")).isEqualTo("keep {{ }}x");
    }

    @Test
    void tagsEndWhereJinja2EndsThem() {
        // Brackets must balance before '}}' closes an expression; delimiters inside strings do not count.
        assertThat(render("{{ {'a': {'b': 1}}['a']['b'] }}|{{ \"}}\" }}|{{ '%}' }}|{{ '{#' }}"))
                .isEqualTo("1|}}|%}|{#");
        assertThat(render("{ {{ 'x' }}{\n{# c #}{% if true %}{% endif %}{")).isEqualTo("{ x{\n{");
    }

    @Test
    void lexicalErrorsNameTheLine() {
        assertThatThrownBy(() -> render("a\n{{ 'x }}"))
                .hasMessage("test: chat template: line 2: unterminated string literal");
        assertThatThrownBy(() -> render("{{ (1 }}"))
                .hasMessage("test: chat template: line 1: unexpected '}', expected ')'");
        assertThatThrownBy(() -> render("a\n\n{# open"))
                .hasMessage("test: chat template: line 3: missing end of comment tag");
    }

    @Test
    void jinjavaErrorsNameTheTemplateLine() {
        // The stripped whitespace shifts Jinjava's lines; errors are mapped back to the template's.
        assertThatThrownBy(() -> render("{%- if true -%}\n\n\n{%- endif %}\n\n{{ 'a' + }}"))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageStartingWith("test: chat template: line 6: ");
    }
}
