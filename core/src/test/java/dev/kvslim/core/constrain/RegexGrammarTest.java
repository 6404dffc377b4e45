package dev.kvslim.core.constrain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The regular-expression grammar against java.util.regex (an implementation we did not write) on random texts. */
class RegexGrammarTest {

    @ParameterizedTest
    @ValueSource(
            strings = {
                "abc",
                "a|b|cd",
                "(ab)*c",
                "a+b?",
                "[a-c]{2,3}",
                "[^b]x",
                "x{3}",
                "x{2,}",
                "(?:a|bc){0,2}d",
                "\\d+(\\.\\d{1,2})?",
                "[\\w-]+@[a-z]+\\.(com|org)",
                "^(a|b)*$",
                "é[ü-ÿ]+",
                "[^\\d\\s]{1,3}",
                "(?<year>\\d{4})-\\d\\d",
                "a.c",
                "\\x41\\u00e9[\\u{1F600}-\\u{1F64F}]?",
                "[a\\-z]",
                "((a|b)c)+?",
                "",
                "a||b",
                "[\\]a]"
            })
    void acceptsExactlyWhatJavaRegexMatches(String pattern) {
        Automaton grammar = new Automaton(RegexGrammar.of(pattern));
        Pattern oracle =
                Pattern.compile(pattern.replace("\\u{1F600}", "\\x{1F600}").replace("\\u{1F64F}", "\\x{1F64F}"));
        String alphabet = "abcdxyz-@.0123456789 éüÿ\n" + "AB_" + new String(Character.toChars(0x1F601));
        SplittableRandom random = new SplittableRandom(pattern.hashCode());
        for (int i = 0; i < 4000; i++) {
            StringBuilder text = new StringBuilder();
            int length = random.nextInt(8);
            for (int k = 0; k < length; k++) {
                int at = random.nextInt(alphabet.length());
                text.appendCodePoint(alphabet.codePointAt(Character.isLowSurrogate(alphabet.charAt(at)) ? at - 1 : at));
            }
            String t = text.toString();
            boolean expected = oracle.matcher(t).matches();
            assertThat(grammar.matches(t.getBytes(StandardCharsets.UTF_8)))
                    .as("'%s' against /%s/", t, pattern)
                    .isEqualTo(expected);
        }
        // and the texts the oracle's own examples match
        for (String sample : new String[] {"abc", "ab", "abcabc", "12.34", "a-b@x.com", "2024-05", "Aé", "xxx"}) {
            assertThat(grammar.matches(sample.getBytes(StandardCharsets.UTF_8)))
                    .as("'%s' against /%s/", sample, pattern)
                    .isEqualTo(oracle.matcher(sample).matches());
        }
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '`',
            ignoreLeadingAndTrailingWhitespace = false,
            value = {
                "a(?=b)|: a look-around or group flag '(?=' at offset 2 is not supported",
                "(a)\\1|: a back-reference '\\1' at offset 4 is not supported",
                "\\bword|: a word boundary '\\b' at offset 1 is not supported",
                "\\p{L}|: a Unicode property escape '\\p' at offset 1 is not supported",
                "a^b|: an anchor '^' inside the pattern at offset 1 is not supported",
                "a{2000}|: a repetition of more than 1000 at offset 1 is not supported",
                "(ab| is malformed: a group without ')' at offset 3",
                "ab)| is malformed: unbalanced ')' at offset 2",
                "*a| is malformed: a quantifier '*' with nothing to repeat at offset 0",
                "[z-a]| is malformed: a range out of order at offset 4",
                "x[| is malformed: a class without ']' at offset 2"
            })
    void refusesWhatItDoesNotSupportNamingItAndWhere(String pattern, String problem) {
        assertThatThrownBy(() -> RegexGrammar.of(pattern))
                .isInstanceOf(GrammarException.class)
                .hasMessage("the regular expression" + problem);
    }

    @ParameterizedTest
    @ValueSource(strings = {"(a*)*", "(a?)+b", "(|a)*"})
    void refusesRepeatingWhatCanBeEmpty(String pattern) {
        assertThatThrownBy(() -> RegexGrammar.of(pattern))
                .isInstanceOf(GrammarException.class)
                .hasMessageContaining("without consuming anything");
    }
}
