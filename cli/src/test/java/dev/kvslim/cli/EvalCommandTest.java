package dev.kvslim.cli;

import static dev.kvslim.cli.CommandLineTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.cli.CommandLineTest.Run;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.eval.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code kvslim eval} end to end on a tiny random model folder: the grid, its JSON lines, the report, the errors. */
class EvalCommandTest {

    @TempDir
    static Path dir;

    static Path model;

    @BeforeAll
    static void writeModel() throws Exception {
        model = TinyModels.writeFolder(TinyModels.random(5), dir.resolve("tiny"));
    }

    @Test
    void gridPrintsJsonLinesAndFeedsTheReport() throws Exception {
        Path results = dir.resolve("results.jsonl");
        Run r = run(
                "eval",
                "--model",
                model.toString(),
                "--task",
                "needle,runsum",
                "--kv-policy",
                "none,h2o,random",
                "--kv-ratio",
                "1,2",
                "--samples",
                "2",
                "--json",
                "--out",
                results.toString());
        assertThat(r.exit()).as(r.stderr()).isZero();
        List<String> lines = r.out().lines().toList();
        // per task: none, h2o@2, random@2 (ratio 1 of a baseline is none's)
        assertThat(lines).hasSize(6);
        JsonMapper json = JsonMapper.builder().build();
        JsonNode first = json.readTree(lines.get(1));
        for (String key : List.of(
                "task",
                "policy",
                "target_ratio",
                "achieved_ratio",
                "accuracy",
                "samples",
                "kv_bytes_peak",
                "decode_tokens_per_s")) {
            assertThat(first.has(key)).as(key).isTrue();
        }
        assertThat(first.get("task").asString()).isEqualTo("needle");
        assertThat(first.get("policy").asString()).isEqualTo("h2o");
        assertThat(first.get("target_ratio").asDouble()).isEqualTo(2.0);
        assertThat(first.get("achieved_ratio").asDouble()).isBetween(1.8, 2.0);
        assertThat(first.get("samples").asInt()).isEqualTo(2);
        assertThat(first.get("kv_bytes_peak").isIntegralNumber()).isTrue();
        assertThat(Files.readAllLines(results)).isEqualTo(lines);

        Path report = dir.resolve("report");
        Run rep = run("eval", "--report", report.toString(), "--results", results.toString());
        assertThat(rep.exit()).as(rep.stderr()).isZero();
        assertThat(Files.readString(report.resolve("results.md"))).contains("| tiny | runsum | random |");
        for (String png : List.of("accuracy-needle.png", "accuracy-runsum.png", "kv-memory.png")) {
            byte[] bytes = Files.readAllBytes(report.resolve(png));
            assertThat(Arrays.copyOf(bytes, 4)).containsExactly(0x89, 'P', 'N', 'G');
        }
    }

    @Test
    void votesAreSampledAndCountedPerSample() throws Exception {
        Run r = run(
                "eval",
                "--model",
                model.toString(),
                "--task",
                "needle",
                "--samples",
                "2",
                "--votes",
                "3",
                "--temperature",
                "0.8",
                "--json",
                "--show");
        assertThat(r.exit()).as(r.stderr()).isZero();
        JsonNode line = JsonMapper.builder()
                .build()
                .readTree(r.out().lines().findFirst().orElseThrow());
        assertThat(line.get("votes").asInt()).isEqualTo(3);
        assertThat(line.get("temperature").asDouble()).isCloseTo(0.8, org.assertj.core.api.Assertions.within(1e-6));
        assertThat(line.get("samples").asInt()).isEqualTo(2);
        assertThat(r.stderr()).contains("/2 correct").contains("(vote: ").contains("    vote 2: ");

        Run greedyVotes = run("eval", "--model", model.toString(), "--task", "needle", "--votes", "3");
        assertThat(greedyVotes.exit()).isNotZero();
        assertThat(greedyVotes.stderr()).contains("--votes 3 needs a --temperature above 0");
    }

    @Test
    void theBundled4kDmsModelCompressesFourThousandTokensWithItsOwnDecisions() throws Exception {
        Run r = run(
                "eval",
                "--model",
                "../models/kvslim-demo-4k-dms-cr8",
                "--task",
                "needle",
                "--kv-policy",
                "dms",
                "--samples",
                "2",
                "--context",
                "4096",
                "--json");
        assertThat(r.exit()).as(r.stderr()).isZero();
        JsonNode o = JsonMapper.builder().build().readTree(r.out().strip());
        assertThat(o.get("policy").asString()).isEqualTo("dms");
        assertThat(o.get("context").asInt()).isEqualTo(4096);
        // its model card: 7.70x over 200 needle samples, the 32-token window counted
        assertThat(o.get("achieved_ratio").asDouble()).isBetween(7.5, 10.0);
    }

    @Test
    void tableByDefault() {
        Run r = run("eval", "--model", model.toString(), "--task", "vartrack", "--samples", "1");
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.out()).contains("accuracy").containsPattern("vartrack +none +1x +1\\.00x");
    }

    @Test
    void textModelsGetKlAndPerplexity() throws Exception {
        Path text = dir.resolve("story.txt");
        Files.writeString(
                text,
                "Once upon a time, there was a little girl named Lily. She loved to play outside in"
                        + " the sun with her dog, and one day they found a big red ball in the park.");
        Run r = evalText(text, "tova", "--json");
        assertThat(r.exit()).as(r.stderr()).isZero();
        JsonNode o = JsonMapper.builder().build().readTree(r.out().strip());
        assertThat(o.get("task").asString()).isEqualTo("text:story.txt");
        assertThat(o.get("kl").asDouble()).isPositive();
        assertThat(o.get("ppl").asDouble()).isGreaterThan(1);
        assertThat(o.get("accuracy").isNull()).isTrue();
    }

    /** A text window has no prompt to replay: all leaves KVzip out, naming it is an error. */
    @Test
    void onATextAllLeavesKvzipOutAndNamingItIsAnError() throws Exception {
        Path text = dir.resolve("short.txt");
        Files.writeString(text, "Once upon a time, there was a little girl named Lily. She loved to play outside.");
        Run all = evalText(text, "all", "--json");
        assertThat(all.exit()).as(all.stderr()).isZero();
        assertThat(all.out()).contains("\"policy\":\"snapkv\"").doesNotContain("kvzip");
        assertError(evalText(text, "kvzip"), "--kv-policy kvzip scores a prompt by replaying it");
    }

    @Test
    void anEmptyTextIsAnError() throws Exception {
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, " \n");
        assertError(evalText(empty, "tova"), "empty.txt holds no text");
    }

    /** {@code eval --text} of stories260K on {@code text} with {@code --kv-policy policy --kv-ratio 2} and more. */
    private static Run evalText(Path text, String policy, String... more) {
        String[] args = {
            "eval",
            "--model",
            Fixtures.path("stories260K/stories260K.bin").toString(),
            "--tokenizer",
            Fixtures.path("stories260K/tok512.bin").toString(),
            "--text",
            text.toString(),
            "--kv-policy",
            policy,
            "--kv-ratio",
            "2"
        };
        return run(Stream.concat(Arrays.stream(args), Arrays.stream(more)).toArray(String[]::new));
    }

    @Test
    void errorsNameTheProblem() {
        String m = model.toString();
        assertError(run("eval", "--model", dir.resolve("nope").toString(), "--task", "all"), "does not exist");
        assertError(run("eval", "--model", m, "--task", "sudoku"), "no task named 'sudoku'");
        assertError(
                run("eval", "--model", m, "--task", "needle", "--kv-policy", "lru", "--kv-ratio", "2"),
                "unknown KV policy 'lru'");
        assertError(
                run("eval", "--model", m, "--task", "needle", "--kv-policy", "h2o", "--kv-ratio", "0.5"),
                "at least 1, got 0.5");
        assertError(run("eval", "--model", m, "--task", "needle", "--kv-policy", "h2o"), "h2o needs");
        assertError(run("eval", "--model", m, "--task", "needle", "--kv-policy", "dms"), "not retrofitted with DMS");
        assertError(run("eval", "--model", m), "one of --task");
        assertError(
                run("eval", "--model", m, "--task", "needle", "--context", "99999"),
                "beyond the model's trained context of");
        assertError(
                run(
                        "eval",
                        "--report",
                        dir.resolve("r").toString(),
                        "--results",
                        dir.resolve("x.jsonl").toString()),
                "x.jsonl does not exist");
    }

    private static void assertError(Run r, String message) {
        assertThat(r.exit()).as(r.stderr()).isEqualTo(1);
        assertThat(r.stderr()).contains("kvslim: error:").contains(message);
    }
}
