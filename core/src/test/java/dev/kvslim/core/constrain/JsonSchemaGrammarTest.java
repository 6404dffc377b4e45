package dev.kvslim.core.constrain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.networknt.schema.Schema;
import dev.kvslim.core.testing.JsonSchemas;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Every text a schema's grammar allows is JSON that validates against the schema ({@link JsonSchemas}: Jackson and
 * networknt's json-schema-validator, libraries we did not write), over 200 seeded random schemas.
 */
class JsonSchemaGrammarTest {

    static final JsonMapper JSON = JsonMapper.builder().build();

    /** A random sentence of the grammar: random allowed bytes for a while, then the shortest way to an end. */
    static String randomText(Automaton automaton, SplittableRandom random, int steps) {
        Automaton.State s = automaton.start();
        List<Byte> out = new ArrayList<>();
        for (int i = 0; i < steps; i++) {
            if (s.canEnd() && (s.isComplete() || random.nextInt(8) == 0)) {
                return text(out);
            }
            List<Integer> allowed = new ArrayList<>();
            for (int b = 0; b < 256; b++) {
                if (!s.next(b).isDead()) {
                    allowed.add(b);
                }
            }
            int b = allowed.get(random.nextInt(allowed.size()));
            out.add((byte) b);
            s = s.next(b);
        }
        for (int b : shortestEnd(s)) {
            out.add((byte) b);
        }
        return text(out);
    }

    private static String text(List<Byte> bytes) {
        byte[] b = new byte[bytes.size()];
        for (int i = 0; i < b.length; i++) {
            b[i] = bytes.get(i);
        }
        return new String(b, StandardCharsets.UTF_8);
    }

    /** The shortest bytes that take {@code from} to a state where the text may end (a breadth-first search). */
    static List<Integer> shortestEnd(Automaton.State from) {
        Map<Automaton.State, Automaton.State> parent = new HashMap<>();
        Map<Automaton.State, Integer> via = new HashMap<>();
        ArrayDeque<Automaton.State> queue = new ArrayDeque<>();
        parent.put(from, null);
        queue.add(from);
        while (!queue.isEmpty()) {
            Automaton.State s = queue.poll();
            if (s.canEnd()) {
                List<Integer> path = new ArrayList<>();
                for (Automaton.State at = s; parent.get(at) != null; at = parent.get(at)) {
                    path.addFirst(via.get(at));
                }
                return path;
            }
            for (int b = 0; b < 256; b++) {
                Automaton.State t = s.next(b);
                if (!t.isDead() && !parent.containsKey(t)) {
                    parent.put(t, s);
                    via.put(t, b);
                    queue.add(t);
                }
            }
        }
        throw new AssertionError("no way to end from this state");
    }

    @Test
    void everyTextOf200RandomSchemasParsesAndValidates() {
        int texts = 0;
        for (int seed = 0; seed < 200; seed++) {
            ObjectNode schema = new RandomSchemas(seed, false).next();
            Automaton automaton = new Automaton(JsonSchemaGrammar.of(schema));
            Schema validator = JsonSchemas.validator(schema);
            SplittableRandom random = new SplittableRandom(seed);
            for (int i = 0; i < 5; i++) {
                JsonSchemas.assertValid(validator, randomText(automaton, random, 300), schema);
                texts++;
            }
        }
        assertThat(texts).isEqualTo(1000);
    }

    @Test
    void anyObjectAcceptsWhatJacksonWritesAndNothingJacksonRejects() {
        Automaton automaton = new Automaton(JsonSchemaGrammar.anyObject());
        SplittableRandom random = new SplittableRandom(7);
        int rejectedMutants = 0;
        for (int i = 0; i < 300; i++) {
            ObjectNode value = JSON.createObjectNode();
            fill(value, random, 3);
            String text = i % 2 == 0 ? JSON.writeValueAsString(value) : value.toPrettyString();
            assertThat(automaton.matches(text.getBytes(StandardCharsets.UTF_8)))
                    .as(text)
                    .isTrue();
            // one character changed: whenever the grammar still accepts it, it is still JSON
            StringBuilder mutant = new StringBuilder(text);
            int at = random.nextInt(mutant.length());
            mutant.setCharAt(at, "{}[],:\"\\ 0a-.e".charAt(random.nextInt(14)));
            boolean accepted = automaton.matches(mutant.toString().getBytes(StandardCharsets.UTF_8));
            if (accepted) {
                assertThat(JSON.readTree(mutant.toString()).isObject()).isTrue();
            } else {
                rejectedMutants++;
            }
        }
        assertThat(rejectedMutants).isGreaterThan(100);
    }

    private static void fill(ObjectNode o, SplittableRandom random, int depth) {
        int n = random.nextInt(4);
        for (int i = 0; i < n; i++) {
            String key = "k" + random.nextInt(100) + (random.nextBoolean() ? "é\"\n" : "");
            switch (random.nextInt(depth > 0 ? 7 : 5)) {
                case 0 -> o.put(key, random.nextInt(2_000_001) - 1_000_000);
                case 1 -> o.put(key, (random.nextInt(20001) - 10000) / 64.0);
                case 2 -> o.put(key, "text \u00e9\t\"" + random.nextInt(10));
                case 3 -> o.put(key, random.nextBoolean());
                case 4 -> o.putNull(key);
                case 5 -> fill(o.putObject(key), random, depth - 1);
                default -> {
                    var array = o.putArray(key);
                    for (int k = random.nextInt(3); k > 0; k--) {
                        array.add(random.nextInt(10));
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "{\"type\": \"integer\", \"minimum\": -17, \"maximum\": 123}|-17|123",
                "{\"type\": \"integer\", \"exclusiveMinimum\": -1.5, \"exclusiveMaximum\": 40}|-1|39",
                "{\"type\": \"integer\", \"minimum\": 100, \"maximum\": 100}|100|100",
                "{\"type\": \"integer\", \"minimum\": 0.5, \"maximum\": 1099}|1|1099"
            })
    void integerBoundsAcceptExactlyTheIntegersWithin(String schema, long lo, long hi) {
        Automaton automaton = new Automaton(JsonSchemaGrammar.of(schema));
        for (long v = -1200; v <= 1200; v++) {
            assertThat(automaton.matches(Long.toString(v).getBytes(StandardCharsets.UTF_8)))
                    .as("%d", v)
                    .isEqualTo(v >= lo && v <= hi);
        }
        for (String bad : new String[] {"007", "-0", "+5", "1.0", "1e2", " 5"}) {
            assertThat(automaton.matches(bad.getBytes(StandardCharsets.UTF_8)))
                    .as(bad)
                    .isFalse();
        }
    }

    @Test
    void boundedNumbersStayWithinTheirBounds() {
        SplittableRandom random = new SplittableRandom(3);
        String[][] cases = {
            {"{\"type\": \"number\", \"minimum\": -3.5, \"maximum\": 12.25}", "-3.5", "12.25"},
            {"{\"type\": \"number\", \"exclusiveMinimum\": 0, \"maximum\": 1}", "0", "1"},
            {"{\"type\": \"number\", \"minimum\": -2, \"exclusiveMaximum\": -1}", "-2", "-1"}
        };
        for (String[] c : cases) {
            Automaton automaton = new Automaton(JsonSchemaGrammar.of(c[0]));
            BigDecimal lo = new BigDecimal(c[1]);
            BigDecimal hi = new BigDecimal(c[2]);
            boolean loExclusive = c[0].contains("exclusiveMinimum");
            boolean hiExclusive = c[0].contains("exclusiveMaximum");
            for (int i = 0; i < 500; i++) {
                BigDecimal v = new BigDecimal(randomText(automaton, random, 12));
                assertThat(loExclusive ? v.compareTo(lo) > 0 : v.compareTo(lo) >= 0)
                        .as("%s", v)
                        .isTrue();
                assertThat(hiExclusive ? v.compareTo(hi) < 0 : v.compareTo(hi) <= 0)
                        .as("%s", v)
                        .isTrue();
            }
        }
    }

    @Test
    void extraPropertiesNeverReuseADeclaredName() {
        Automaton automaton = new Automaton(
                JsonSchemaGrammar.of("{\"properties\": {\"a\": {\"type\": \"integer\"}, \"ab\": {\"type\": \"null\"}},"
                        + " \"additionalProperties\": {\"type\": \"string\"}}"));
        assertThat(automaton.matches("{\"a\":1,\"abc\":\"x\",\"\":\"y\",\"b\":\"z\"}".getBytes(StandardCharsets.UTF_8)))
                .isTrue();
        assertThat(automaton.matches("{\"a\":1,\"a\":\"x\"}".getBytes(StandardCharsets.UTF_8)))
                .isFalse();
        assertThat(automaton.matches("{\"ab\":\"x\"}".getBytes(StandardCharsets.UTF_8)))
                .isFalse();
        assertThat(automaton.matches("{}".getBytes(StandardCharsets.UTF_8))).isTrue();
    }

    @Test
    void requiredPropertiesMustAppearInOrder() {
        Automaton automaton = new Automaton(JsonSchemaGrammar.of("{\"type\": \"object\", \"properties\":"
                + " {\"x\": {\"type\": \"boolean\"}, \"y\": {\"type\": \"boolean\"}}, \"required\": [\"y\"]}"));
        assertThat(automaton.matches("{\"y\": true}".getBytes(StandardCharsets.UTF_8)))
                .isTrue();
        assertThat(automaton.matches("{\"y\":true, \"x\":false}".getBytes(StandardCharsets.UTF_8)))
                .isTrue();
        assertThat(automaton.matches("{\"x\":false}".getBytes(StandardCharsets.UTF_8)))
                .isFalse();
        assertThat(automaton.matches("{}".getBytes(StandardCharsets.UTF_8))).isFalse();
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '`',
            value = {
                "{\"type\": \"object\", \"minProperties\": 1}|unsupported JSON Schema keyword 'minProperties' at #",
                "{\"properties\": {\"a\": {\"type\": \"number\", \"multipleOf\": 3}}}"
                        + "|unsupported JSON Schema keyword 'multipleOf' at #/properties/a",
                "{\"type\": \"string\", \"format\": \"email\"}|unsupported JSON Schema keyword 'format' at #",
                "{\"items\": {\"not\": {}}}|unsupported JSON Schema keyword 'not' at #/items",
                "{\"$ref\": \"#/$defs/missing\"}|'$ref' at # points to nothing: #/$defs/missing",
                "{\"$ref\": \"https://example.com/s.json\"}"
                        + "|'$ref' to 'https://example.com/s.json' at # is not supported: only references within the"
                        + " schema (#...)",
                "{\"type\": \"integer\", \"minimum\": 5, \"maximum\": 4}"
                        + "|no integer of at most 16 digits is within the bounds at #",
                "{\"type\": \"strin\"}|unknown type 'strin' at #",
                "{\"type\": \"string\", \"pattern\": \"(?=a)\"}"
                        + "|'pattern' at #: a look-around or group flag '(?=' at offset 1 is not supported",
                "{\"$defs\": {\"a\": {\"anyOf\": [{\"$ref\": \"#/$defs/a\"}, {\"type\": \"null\"}]}}, \"$ref\":"
                        + " \"#/$defs/a\"}|the grammar can repeat or recurse without consuming anything (rule 'ref"
                        + " #/$defs/a' reaches itself first); give the repetition something to match"
            })
    void refusesWhatItDoesNotSupportNamingTheKeyword(String schema, String message) {
        assertThatThrownBy(() -> JsonSchemaGrammar.of(schema))
                .isInstanceOf(GrammarException.class)
                .hasMessage(message);
    }

    @Test
    void recursiveSchemasWork() {
        String schema = "{\"$defs\": {\"node\": {\"type\": \"object\", \"properties\": {\"kids\": {\"type\": \"array\","
                + " \"items\": {\"$ref\": \"#/$defs/node\"}}}, \"additionalProperties\": false}},"
                + " \"$ref\": \"#/$defs/node\"}";
        Automaton automaton = new Automaton(JsonSchemaGrammar.of(schema));
        String deep = "{\"kids\":[{\"kids\":[{},{\"kids\":[]}]},{}]}";
        assertThat(automaton.matches(deep.getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(automaton.matches("{\"kids\":[{\"kid\":[]}]}".getBytes(StandardCharsets.UTF_8)))
                .isFalse();
    }

    @Test
    void deepNestingIsNamedNotAStackOverflow() {
        String deep = "{\"items\": ".repeat(5000) + "{}" + "}".repeat(5000);
        assertThatThrownBy(() -> JsonSchemaGrammar.of(JSON.readTree(
                        tools.jackson.core.StreamReadConstraints.builder()
                                                .build()
                                                .getMaxNestingDepth()
                                        > 5000
                                ? deep
                                : "{\"items\": ".repeat(100) + "{}" + "}".repeat(100))))
                .isInstanceOf(GrammarException.class)
                .hasMessageContaining("nests more than 64 levels");
        assertThatThrownBy(() -> RegexGrammar.of("(".repeat(100_000) + "a" + ")".repeat(100_000)))
                .isInstanceOf(GrammarException.class)
                .hasMessageContaining("more than 100 nested groups");
    }
}
