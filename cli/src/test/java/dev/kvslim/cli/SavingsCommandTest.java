package dev.kvslim.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code kvslim savings}: a policy against the uncompressed cache, the bundled DMS model on the task workload as JSON,
 * and a model without DMS refused clearly.
 */
class SavingsCommandTest {

    @Test
    void comparesAPolicyWithTheUncompressedCacheOnAWorkloadFile(@TempDir Path dir) throws Exception {
        CommandLineTest.Run r =
                CommandLineTest.run(storiesTova(workload(dir, 100), "--kv-ratio", "4", "--price-per-hour", "3"));
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.out())
                .contains(
                        "tova@4", "none", "2 requests", "kept K/V bytes per sequence", "cost per 1M tokens at $3.00/h");
    }

    /** {@code --max-tokens} caps each request's generation (here 150 and 2 tokens asked, 3 and 2 made); 0 is refused. */
    @Test
    void maxTokensCapsEachRequest(@TempDir Path dir) throws Exception {
        String[] args = storiesTova(workload(dir, 2), "--kv-budget", "4MiB", "--json", "--max-tokens", "3");
        CommandLineTest.Run r = CommandLineTest.run(args);
        assertThat(r.exit()).as(r.stderr()).isZero();
        JsonNode o = JsonMapper.builder().build().readTree(r.out());
        assertThat(o.get("workload").asString()).endsWith(", at most 3 tokens each");
        assertThat(o.get("kv_budget_bytes").asLong()).isEqualTo(4L << 20);
        assertThat(o.get("tova@4").get("generated_tokens").asLong()).isEqualTo(3 + 2);
        assertThat(o.get("uncompressed").get("generated_tokens").asLong()).isEqualTo(3 + 2);

        args[args.length - 1] = "0";
        CommandLineTest.Run zero = CommandLineTest.run(args);
        assertThat(zero.exit()).isNotZero();
        assertThat(zero.stderr()).contains("--max-tokens must be at least 1, got 0");
    }

    /** A workload file of two story prompts asking for 150 and {@code second} tokens. */
    private static Path workload(Path dir, int second) throws java.io.IOException {
        Path workload = dir.resolve("w.jsonl");
        Files.writeString(
                workload,
                "{\"prompt\": \"Once upon a time\", \"max_tokens\": 150}\n"
                        + "{\"prompt\": \"One day\", \"max_tokens\": " + second + "}\n");
        return workload;
    }

    /** {@code savings} on the stories model and {@code workload} with the TOVA policy, then {@code more}. */
    private static String[] storiesTova(Path workload, String... more) {
        List<String> args = new ArrayList<>(List.of(
                "savings",
                "--model",
                CommandLineTest.stories(),
                "--tokenizer",
                CommandLineTest.tok512(),
                "--workload",
                workload.toString(),
                "--kv-policy",
                "tova"));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    /**
     * The bundled DMS model on its own task suite (prompts of about 450-1,010 tokens, each generating its full answer),
     * Q8_0 keys and values: one JSON object with both caches' figures; the DMS cache's blocks per sequence are a
     * fraction of the uncompressed cache's (the model keeps about a seventh of each sequence's tokens).
     */
    @Test
    void theTaskWorkloadAsJson() throws Exception {
        CommandLineTest.Run r = CommandLineTest.run(
                "savings",
                "--model",
                "../models/kvslim-demo-dms-cr8",
                "--workload",
                "tasks",
                "--samples",
                "2",
                "--kv-type",
                "q8_0",
                "--json");
        assertThat(r.exit()).as(r.stderr()).isZero();
        JsonNode o = JsonMapper.builder().build().readTree(r.out());
        assertThat(o.get("requests").asInt()).isEqualTo(8);
        assertThat(o.get("kv_type").asString()).isEqualTo("q8_0");
        // 4 layers x 2 KV heads, keys and values of 32 channels: 34 bytes per 32 in Q8_0
        assertThat(o.get("kv_bytes_per_token").asLong()).isEqualTo(2L * 4 * 2 * 34);
        // the default budget holds 8 uncompressed sequences of the longest request in that type: 1,024 tokens in
        // 64 blocks of 16 per (layer, KV head), 8 of them, blocks of 2 x 16 x 34 bytes
        assertThat(o.get("kv_budget_bytes").asLong()).isEqualTo(8L * 4 * 2 * 64 * 2 * 16 * 34);
        assertThat(o.get("workload").asString()).startsWith("tasks (2 held-out samples of each of 4 tasks");
        JsonNode dms = o.get("dms"), none = o.get("uncompressed");
        for (JsonNode run : new JsonNode[] {dms, none}) {
            assertThat(run.get("generated_tokens").asLong()).isPositive();
            for (String key : new String[] {
                "sequences_fit", "max_running", "tokens_per_s", "preemptions", "kv_bytes_per_sequence_mean"
            }) {
                assertThat(run.has(key)).as(key).isTrue();
            }
        }
        assertThat(dms.get("generated_tokens").asLong())
                .isEqualTo(none.get("generated_tokens").asLong());
        assertThat(dms.get("kv_bytes_per_sequence_mean").asDouble())
                .isLessThan(none.get("kv_bytes_per_sequence_mean").asDouble() / 4);
        assertThat(dms.get("sequences_fit").asLong())
                .isGreaterThanOrEqualTo(4 * none.get("sequences_fit").asLong());
    }

    @Test
    void aModelWithoutDmsNeedsAPolicy() {
        CommandLineTest.Run r = CommandLineTest.run(
                "savings", "--model", CommandLineTest.stories(), "--tokenizer", CommandLineTest.tok512());
        assertThat(r.exit()).isNotZero();
        assertThat(r.stderr()).contains("has no DMS metadata", "--kv-policy tova");
        CommandLineTest.Run none = CommandLineTest.run(
                "savings",
                "--model",
                CommandLineTest.stories(),
                "--tokenizer",
                CommandLineTest.tok512(),
                "--kv-policy",
                "none");
        assertThat(none.exit()).isNotZero();
        assertThat(none.stderr()).contains("does not compress");
    }
}
