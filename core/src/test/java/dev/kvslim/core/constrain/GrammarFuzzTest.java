package dev.kvslim.core.constrain;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Arbitrary bytes as a client's JSON schema or regular expression, with Jazzer: compiling either succeeds or throws
 * a {@link GrammarException} (the 400 the server answers), never anything else (no stack overflow from nesting, no
 * index or arithmetic exception, no hang: a compiled grammar's matcher then walks its own input). The first byte picks
 * what the rest is.
 *
 * <p>{@code mvn verify} runs the seed corpus (src/test/resources/dev/kvslim/core/constrain/GrammarFuzzTestInputs); to
 * fuzz, {@code JAZZER_FUZZ=1 ./mvnw -pl core test -Dtest=GrammarFuzzTest -Djazzer.max_duration=5m}.
 */
class GrammarFuzzTest {

    @FuzzTest
    void schemasAndPatterns(byte[] input) {
        if (input.length == 0) {
            return;
        }
        String text = new String(Arrays.copyOfRange(input, 1, input.length), StandardCharsets.UTF_8);
        try {
            Grammar g = (input[0] & 1) == 0 ? JsonSchemaGrammar.of(text) : RegexGrammar.of(text);
            Automaton.State s = new Automaton(g).start();
            for (byte b : input) {
                s = s.next(b & 0xFF);
                if (s.isDead()) {
                    break;
                }
            }
        } catch (GrammarException refused) {
            // what the server answers with a 400
        }
    }
}
