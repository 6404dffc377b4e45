package dev.kvslim.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kvslim savings}: a policy against the uncompressed cache, and a model without DMS refused clearly. */
class SavingsCommandTest {

    @Test
    void comparesAPolicyWithTheUncompressedCacheOnAWorkloadFile(@TempDir Path dir) throws Exception {
        Path workload = dir.resolve("w.jsonl");
        Files.writeString(
                workload,
                "{\"prompt\": \"Once upon a time\", \"max_tokens\": 150}\n"
                        + "{\"prompt\": \"One day\", \"max_tokens\": 100}\n");
        CommandLineTest.Run r = CommandLineTest.run(
                "savings",
                "--model",
                CommandLineTest.stories(),
                "--tokenizer",
                CommandLineTest.tok512(),
                "--workload",
                workload.toString(),
                "--kv-policy",
                "tova",
                "--kv-ratio",
                "4",
                "--price-per-hour",
                "3");
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.out())
                .contains(
                        "tova@4", "none", "2 requests", "kept K/V bytes per sequence", "cost per 1M tokens at $3.00/h");
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
