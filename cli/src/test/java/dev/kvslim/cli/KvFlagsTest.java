package dev.kvslim.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** One flag vocabulary: byte budgets with suffixes, and the old spellings refused with the new name. */
class KvFlagsTest {

    @Test
    void byteBudgetsTakeBinarySuffixes() {
        assertThat(ByteSize.parse("268435456")).isEqualTo(268_435_456L);
        assertThat(ByteSize.parse("256MiB")).isEqualTo(256L << 20);
        assertThat(ByteSize.parse("4g")).isEqualTo(4L << 30);
        assertThat(ByteSize.parse("64 KiB")).isEqualTo(64L << 10);
        assertThatThrownBy(() -> ByteSize.parse("12x"))
                .isInstanceOf(CommandLine.TypeConversionException.class)
                .hasMessageContaining("'12x' is not a byte count");
        assertThatThrownBy(() -> ByteSize.parse("0")).hasMessageContaining("must be positive");
        assertThatThrownBy(() -> ByteSize.parse("9999999999G")).hasMessageContaining("below 2^63");
    }

    @Test
    void oldSpellingsNameTheNewFlag() {
        CommandLineTest.Run savings = CommandLineTest.run(
                "savings",
                "--model",
                CommandLineTest.stories(),
                "--tokenizer",
                CommandLineTest.tok512(),
                "--budget",
                "1000000");
        assertThat(savings.exit()).isEqualTo(2);
        assertThat(savings.stderr()).contains("--budget is now --kv-budget");
        CommandLineTest.Run eval = CommandLineTest.run(
                "eval",
                "--model",
                CommandLineTest.stories(),
                "--tokenizer",
                CommandLineTest.tok512(),
                "--task",
                "needle",
                "--policy",
                "h2o",
                "--ratio",
                "2");
        assertThat(eval.exit()).isEqualTo(2);
        assertThat(eval.stderr()).contains("--policy is now --kv-policy");
        CommandLineTest.Run generate = CommandLineTest.run(
                "generate",
                "--model",
                CommandLineTest.stories(),
                "--tokenizer",
                CommandLineTest.tok512(),
                "--kv-policy",
                "h2o",
                "--kv-budget",
                "64");
        assertThat(generate.exit()).isNotZero();
        assertThat(generate.stderr())
                .contains("needs one of --kv-ratio and --kv-tokens", "a budget in tokens per head is --kv-tokens");
        CommandLineTest.Run serve = CommandLineTest.run(
                "serve",
                "--model",
                CommandLineTest.stories(),
                "--tokenizer",
                CommandLineTest.tok512(),
                "--kv-budget",
                "lots");
        assertThat(serve.exit()).isEqualTo(2);
        assertThat(serve.stderr()).contains("'lots' is not a byte count");
    }

    @Test
    void generateTakesATokenBudgetPerHead() {
        CommandLineTest.Run r = CommandLineTest.run(
                "generate",
                "--model",
                CommandLineTest.stories(),
                "--tokenizer",
                CommandLineTest.tok512(),
                "--prompt",
                "Once upon a time",
                "--temperature",
                "0",
                "--max-tokens",
                "60",
                "--kv-policy",
                "TOVA",
                "--kv-tokens",
                "16",
                "--kv-budget",
                "64MiB");
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stderr()).contains("kv cache: tova@16tok");
    }
}
