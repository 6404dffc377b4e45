package dev.kvslim.core.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link PythonJson} against Python 3's {@code json.dumps(..., ensure_ascii=False)} and {@code repr(float)}. */
class PythonJsonTest {

    @ParameterizedTest
    @CsvSource({
        "1.0, 1.0",
        "100.0, 100.0",
        "0.1, 0.1",
        "-2.5, -2.5",
        "0.0001, 0.0001",
        "0.00001, 1e-05",
        "1.5e-7, 1.5e-07",
        "1e15, 1000000000000000.0",
        "1e16, 1e+16",
        "1.2345678901234568e17, 1.2345678901234568e+17",
        "123456.789, 123456.789",
        "0.30000000000000004, 0.30000000000000004",
        "-0.0, -0.0",
        "0.0, 0.0",
        "1e300, 1e+300",
        "5e-324, 5e-324"
    })
    void floatsAsPythonReprs(double value, String python) {
        assertThat(PythonJson.floatRepr(value)).isEqualTo(python);
    }

    @Test
    void specialFloatsAsJsonDumpsWritesThem() {
        assertThat(PythonJson.dumps(List.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY), null))
                .isEqualTo("[NaN, Infinity, -Infinity]");
    }

    @Test
    void separatorsAndEscapes() {
        Map<Object, Object> map = new LinkedHashMap<>();
        map.put("s", "tab\t \"q\" \\ \u0001 é 日本 \u2028");
        map.put(1, true);
        map.put(null, List.of());
        assertThat(PythonJson.dumps(map, null))
                .isEqualTo("{\"s\": \"tab\\t \\\"q\\\" \\\\ \\u0001 é 日本 \u2028\", \"1\": true, \"null\": []}");
    }

    @Test
    void indentPutsEachItemOnItsOwnLine() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("a", List.of(1, Map.of()));
        map.put("b", "x");
        assertThat(PythonJson.dumps(map, 4))
                .isEqualTo("{\n    \"a\": [\n        1,\n        {}\n    ],\n    \"b\": \"x\"\n}");
        assertThat(PythonJson.dumps(List.of(1, 2), 0)).isEqualTo("[\n1,\n2\n]");
    }

    @Test
    void otherObjectsAreNotSerializable() {
        assertThatThrownBy(() -> PythonJson.dumps(new Object(), null))
                .hasMessage("Object of type Object is not JSON serializable");
    }
}
