package dev.kvslim.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Which Oniguruma regexes are taken as they are and which are refused; that the ones taken match as Hugging Face's
 * tokenizers does is {@link HfTokenizerOracleTest}'s part.
 */
class OnigurumaRegexTest {

    @ParameterizedTest
    @ValueSource(
            strings = {
                // GPT-2, Llama 3, Qwen2/3
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
                "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                        + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
                // Mistral Tekken and GPT-4o style cased words
                "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
                        + "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*",
                // DeepSeek style ranges and escapes
                "[\\u4e00-\\u9fa5\\u3040-\\u309f]+|[!-/:-@\\[-`{-~][A-Za-z]+|\\x{1F600}|\\xA0",
                "^\\s+$|(?<=a)b|(?<!c)d|(?>e+)f|g*+h++i?+|j{2,}?k{1,3}?|\\A.\\z|(x)"
            })
    void samePatternsAreTakenAsTheyAre(String regex) {
        assertThat(OnigurumaRegex.compile(regex).pattern()).isEqualTo(regex);
    }

    @ParameterizedTest
    @CsvSource(
            delimiterString = "=>",
            quoteCharacter = '"',
            value = {
                "\\p{N}{1,3}+         => '{..}+'",
                "a{2}?                => '{n}?'",
                "\\h+                 => escape '\\h'",
                "\\w+                 => escape '\\w'",
                "\\bx                 => escape '\\b'",
                "\\p{Han}             => property \\p{Han}",
                "\\p{^L}              => property \\p{^L}",
                "[[:alpha:]]          => nested class or POSIX bracket",
                "[a-z&&[^aeiou]]      => '&&'",
                "[\\s-x]              => a range starting at a class escape",
                "(?m:a.b)             => group '(?m:",
                "(?i)abc              => group '(?i)",
                "(?<name>a)           => group '(?<n",
                "(?i:is)              => letter 'i' in a case-insensitive group",
                "(?i:'ss)             => 'ss' in a case-insensitive group",
                "(?i:[a-z])           => a character class inside a case-insensitive group",
                "(?i:\\p{Lu})         => escape '\\p' in a case-insensitive group",
                "(?i:é)               => letter 'é' in a case-insensitive group",
                "a{,3}                => not an interval",
                "(a|b                 => unclosed '('",
                "a)                   => unbalanced ')'",
                "*a                   => nothing to repeat",
                "\\uD83D              => a surrogate code unit",
                "a{3,1}               => invalid regex"
            })
    void differentlyReadPatternsAreRefused(String regex, String reason) {
        assertThatThrownBy(() -> OnigurumaRegex.compile(regex.strip()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(regex.strip())
                .hasMessageContaining(reason.strip());
    }

    @Test
    void unicodeClassesDotAndAnchorsMatchAsOnigurumaDoes() {
        Pattern space = OnigurumaRegex.compile("\\s+");
        assertThat(space.matcher("\u00A0\u2003\u3000\u0085\u2028\u000B").matches())
                .isTrue();
        assertThat(space.matcher("\u200B").matches()).isFalse();
        assertThat(OnigurumaRegex.compile("\\p{N}+").matcher("٣४１²Ⅻ").matches()).isTrue();
        assertThat(OnigurumaRegex.compile("(?i:'s|'ll)").matcher("'ſ").matches())
                .isTrue();
        assertThat(OnigurumaRegex.compile("(?i:'s|'ll)").matcher("'LL").matches())
                .isTrue();
        assertThat(OnigurumaRegex.compile("a.b").matcher("a\rb").matches()).isTrue();
        assertThat(OnigurumaRegex.compile("a.b").matcher("a\nb").matches()).isFalse();
        Matcher lineEnd = OnigurumaRegex.compile("x$").matcher("x\u2028x\nx");
        assertThat(lineEnd.results().map(r -> r.start())).containsExactly(2, 4);
    }
}
