package dev.kvslim.core.constrain;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.core.testing.JsonSchemas;
import dev.kvslim.core.tokenizer.HfTokenizerJson;
import dev.kvslim.core.tokenizer.Llama2cTokenizer;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntPredicate;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.node.ObjectNode;

/**
 * Token masks over real vocabularies (Llama 2's 32K SentencePiece pieces, Llama 3's 128K byte-level BPE tokens):
 * the allowed set equals a token-by-token check, and decoding random logits under the mask writes JSON that validates.
 */
class ConstraintTest {

    private static final ConcurrentHashMap<String, Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();

    static Tokenizer tokenizer(String name) {
        return TOKENIZERS.computeIfAbsent(name, n -> switch (n) {
            case "llama2" -> Llama2cTokenizer.load(Fixtures.path("tokenizers/llama2/tokenizer.bin"));
            case "llama3" -> HfTokenizerJson.load(Fixtures.path("tokenizers/llama3/tokenizer.json"));
            default -> throw new IllegalArgumentException(n);
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama2", "llama3"})
    void theMaskAllowsExactlyTheTokensTheGrammarAcceptsOneByOne(String name) {
        Tokenizer tokenizer = tokenizer(name);
        TokenMask mask = TokenMask.of(tokenizer);
        Automaton automaton = new Automaton(JsonSchemaGrammar.of("{\"type\": \"object\", \"properties\": {\"name\":"
                + " {\"type\": \"string\"}, \"n\": {\"type\": \"integer\", \"maximum\": 500}}, \"required\": [\"name\","
                + " \"n\"]}"));
        // states along a text: the start, inside the key, inside a string value, inside a number
        String text = "{\"name\": \"ab\u00e9 c\", \"n\": 4";
        Automaton.State s = automaton.start();
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i <= bytes.length; i++) {
            long[] allowed = mask.allowed(s);
            int count = 0;
            for (int id = 0; id < tokenizer.vocabSize(); id++) {
                byte[] piece = tokenizer.decodePiece(-1, id);
                boolean expected = piece.length > 0 && !s.next(piece).isDead();
                boolean actual = (allowed[id >>> 6] >>> id & 1) != 0;
                if (expected != actual) {
                    throw new AssertionError("token " + id + " '" + tokenizer.piece(id) + "' after '"
                            + new String(bytes, 0, i, StandardCharsets.UTF_8) + "': expected " + expected);
                }
                count += actual ? 1 : 0;
            }
            assertThat(count).as("tokens allowed after %d bytes", i).isPositive();
            if (i < bytes.length) {
                s = s.next(bytes[i] & 0xFF);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama2", "llama3"})
    void decodingRandomLogitsUnderTheMaskWritesValidJson(String name) {
        Tokenizer tokenizer = tokenizer(name);
        TokenMask mask = TokenMask.of(tokenizer);
        IntPredicate end = tokenizer::isEndOfGeneration;
        SplittableRandom random = new SplittableRandom(11);
        float[] logits = new float[tokenizer.vocabSize()];
        int complete = 0;
        for (int seed = 0; seed < 40; seed++) {
            ObjectNode schema = new RandomSchemas(1000 + seed, true).next();
            Automaton automaton = new Automaton(JsonSchemaGrammar.of(schema));
            Constraint constraint = new Constraint(automaton, mask, end);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            boolean ended = false;
            for (int step = 0; step < 2000 && !ended; step++) {
                for (int i = 0; i < logits.length; i++) {
                    logits[i] = (float) (random.nextGaussian() * 2);
                }
                // favour what closes: the end tokens, quotes and brackets, so texts finish within the budget
                for (int i : new int[] {tokenizer.eosId()}) {
                    logits[i] += 6;
                }
                assertThat(constraint.mask(logits)).isTrue();
                int token = Sampler.argmax(logits);
                assertThat(logits[token]).isGreaterThan(Float.NEGATIVE_INFINITY);
                if (end.test(token)) {
                    assertThat(constraint.canEnd()).isTrue();
                    ended = true;
                    break;
                }
                byte[] piece = tokenizer.decodePiece(-1, token);
                assertThat(constraint.accept(piece)).isTrue();
                out.writeBytes(piece);
                ended = constraint.isComplete();
            }
            if (ended) {
                complete++;
                JsonSchemas.assertValid(out.toString(StandardCharsets.UTF_8), schema);
            }
        }
        assertThat(complete).as("texts that ended within 2000 tokens, of 40").isGreaterThanOrEqualTo(30);
    }
}
