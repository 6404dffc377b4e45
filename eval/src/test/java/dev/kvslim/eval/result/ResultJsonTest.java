package dev.kvslim.eval.result;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ResultJsonTest {

    static EvalResult task(
            String model, String task, String policy, Double target, double achieved, double accuracy, KvTrace trace) {
        return new EvalResult(
                model,
                task,
                policy,
                target,
                achieved,
                accuracy,
                (int) Math.round(accuracy * 20),
                20,
                1 << 20,
                900_000.5,
                812.5,
                1,
                0,
                1024,
                0,
                3.25,
                null,
                null,
                null,
                trace);
    }

    @Test
    void everyLineHasTheKeysTyped() {
        EvalResult r =
                task("demo", "needle", "h2o", 4.0, 3.97, 0.45, new KvTrace(new int[] {0, 5}, new long[] {10, 12}));
        JsonNode o = JsonMapper.builder().build().readTree(ResultJson.line(r));
        assertThat(o.get("task").isString()).isTrue();
        assertThat(o.get("policy").asString()).isEqualTo("h2o");
        assertThat(o.get("target_ratio").isNumber()).isTrue();
        assertThat(o.get("achieved_ratio").asDouble()).isEqualTo(3.97);
        assertThat(o.get("accuracy").asDouble()).isEqualTo(0.45);
        assertThat(o.get("samples").isIntegralNumber()).isTrue();
        assertThat(o.get("kv_bytes_peak").isIntegralNumber()).isTrue();
        assertThat(o.get("kv_bytes_peak").asLong()).isEqualTo(1 << 20);
        assertThat(o.get("decode_tokens_per_s").isNumber()).isTrue();
        assertThat(o.get("kl").isNull()).isTrue();
        assertThat(o.get("kv_trace").get("bytes").get(1).asLong()).isEqualTo(12);
        assertThat(ResultJson.line(r)).doesNotContain("\n");
    }

    @Test
    void linesReadBackAsTheyWereWritten(@TempDir Path dir) {
        EvalResult a = task("demo", "runsum", "dms", null, 6.1, 0.8, null);
        EvalResult b = new EvalResult(
                "s260",
                "text:t.txt",
                "tova",
                2.0,
                1.99,
                null,
                0,
                3,
                4096,
                4000,
                100,
                1,
                0,
                512,
                1,
                1.5,
                0.012,
                4.5,
                4.7,
                null);
        Path file = dir.resolve("sub/results.jsonl");
        ResultJson.append(file, List.of(a));
        ResultJson.append(file, List.of(b));
        assertThat(ResultJson.read(file)).containsExactly(a, b);
    }

    @Test
    void badLinesAreNamed(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("r.jsonl");
        Files.writeString(
                file, ResultJson.line(task("m", "needle", "none", 1.0, 1, 1, null)) + "\n\n{\"task\": \"x\"}\n");
        assertThatThrownBy(() -> ResultJson.read(file))
                .hasMessageContaining("line 3")
                .hasMessageContaining("'policy'");
        Files.writeString(file, "not json\n");
        assertThatThrownBy(() -> ResultJson.read(file)).hasMessageContaining("line 1");
        assertThatThrownBy(() -> ResultJson.read(dir.resolve("missing.jsonl"))).hasMessageContaining("missing.jsonl");
    }

    @Test
    void tracesAreThinnedEvenlyKeepingBothEnds() {
        int[] g = new int[1000];
        long[] b = new long[1000];
        for (int i = 0; i < g.length; i++) {
            g[i] = i;
            b[i] = 10L * i;
        }
        KvTrace t = KvTrace.of(g, b, 1000);
        assertThat(t.size()).isEqualTo(KvTrace.MAX_POINTS);
        assertThat(t.generated()[0]).isZero();
        assertThat(t.generated()[KvTrace.MAX_POINTS - 1]).isEqualTo(999);
        assertThat(KvTrace.of(g, b, 3).bytes()).containsExactly(0, 10, 20);
    }
}
