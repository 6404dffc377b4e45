package dev.kvslim.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line end to end, in process: generate reproduces llama2.c run.c's stdout byte for byte, and
 * every command reports bad input with a message naming it and a non-zero exit code.
 */
class CommandLineTest {

    record Run(int exit, byte[] stdout, String stderr) {
        String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }
    }

    static synchronized Run run(String... args) {
        return runWithInput("", args);
    }

    static synchronized Run runWithInput(String stdin, String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        java.io.InputStream oldIn = System.in;
        System.setIn(new java.io.ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = KvSlim.execute(args);
            return new Run(exit, out.toByteArray(), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            System.setIn(oldIn);
        }
    }

    static String stories() {
        return Fixtures.path("stories260K/stories260K.bin").toString();
    }

    static String tok512() {
        return Fixtures.path("stories260K/tok512.bin").toString();
    }

    @Test
    void greedyGenerationEqualsRunCByteForByte() throws Exception {
        // run.c -n 200 counts positions: 200 new tokens after BOS for an empty prompt, 196 after the 5-token prompt
        Run empty = run(
                "generate",
                "--model",
                stories(),
                "--tokenizer",
                tok512(),
                "--temperature",
                "0",
                "--max-tokens",
                "200",
                "--echo");
        assertThat(empty.exit()).isZero();
        assertThat(empty.stdout()).isEqualTo(Files.readAllBytes(Fixtures.path("stories260K/golden/1.txt")));

        Run prompted = run(
                "generate",
                "--model",
                stories(),
                "--tokenizer",
                tok512(),
                "--prompt",
                "Once upon a time",
                "--temperature",
                "0",
                "--max-tokens",
                "196",
                "--echo");
        assertThat(prompted.exit()).isZero();
        assertThat(prompted.stdout()).isEqualTo(Files.readAllBytes(Fixtures.path("stories260K/golden/2.txt")));
        assertThat(prompted.stderr())
                .contains("prompt: 5 tokens")
                .contains("generated: 196 tokens")
                .contains("kv cache: 256000 bytes");
    }

    @Test
    void ggufConversionGeneratesTheSameText() throws Exception {
        Run r = run(
                "generate",
                "--model",
                Fixtures.path("stories260K/derived/stories260K.gguf").toString(),
                "--prompt",
                "Once upon a time",
                "--temperature",
                "0",
                "--max-tokens",
                "196",
                "--echo");
        assertThat(r.exit()).isZero();
        assertThat(r.stdout()).isEqualTo(Files.readAllBytes(Fixtures.path("stories260K/golden/2.txt")));
        assertThat(r.stderr()).contains("exceed the model's trained context of 128");
    }

    @Test
    void withoutEchoOnlyTheContinuationIsPrinted() throws Exception {
        Run r = run(
                "generate",
                "--model",
                stories(),
                "--tokenizer",
                tok512(),
                "--prompt",
                "Once upon a time",
                "--temperature",
                "0",
                "--max-tokens",
                "12");
        String continuation = r.out().substring(0, r.out().length() - 1);
        assertThat(continuation).startsWith(", there was").endsWith("She");
        assertThat(Files.readString(Fixtures.path("stories260K/golden/2.txt")))
                .startsWith("Once upon a time" + continuation);
    }

    @Test
    void stopStringEndsTheTextBeforeIt() {
        Run r = run(
                "generate",
                "--model",
                stories(),
                "--tokenizer",
                tok512(),
                "--prompt",
                "Once upon a time",
                "--temperature",
                "0",
                "--max-tokens",
                "100",
                "--stop",
                "Lily");
        assertThat(r.out()).isEqualTo(", there was a little girl named \n");
        assertThat(r.stderr()).contains("(stop_string)");
    }

    /** {@code generate} on stories260K with {@code extra} options. */
    static Run storiesGenerate(String... extra) {
        List<String> args = new ArrayList<>(List.of("generate", "--model", stories(), "--tokenizer", tok512()));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    @Test
    void generateWritesWhatTheGrammarAllows() throws Exception {
        String schema = "{\"type\": \"object\", \"properties\": {\"hero\": {\"enum\": [\"Lily\", \"Ben\"]},"
                + " \"age\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 9}}, \"required\": [\"hero\","
                + " \"age\"], \"additionalProperties\": false}";
        Run r = storiesGenerate(
                "--prompt", "Once upon a time", "--seed", "3", "--max-tokens", "200", "--json-schema", schema);
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stderr()).contains("(grammar_complete)");
        var value = tools.jackson.databind.json.JsonMapper.builder().build().readTree(r.out());
        assertThat(value.get("hero").asString()).isIn("Lily", "Ben");
        assertThat(value.get("age").asInt()).isBetween(1, 9);
        assertThat(value.size()).isEqualTo(2);

        Run choice = storiesGenerate("--prompt", "The dog was", "--choice", "happy", "--choice", "sad");
        assertThat(choice.out().strip()).isIn("happy", "sad");
        Run regex = storiesGenerate("--seed", "5", "--regex", "[A-Z][a-z]{1,8} \\d{2}");
        assertThat(regex.out().strip()).matches("[A-Z][a-z]{1,8} \\d{2}");

        Run bad = storiesGenerate("--regex", "(a");
        assertThat(bad.exit()).isNotZero();
        assertThat(bad.stderr().strip().lines().toList().getLast())
                .isEqualTo(
                        "kvslim: error: --regex: the regular expression is malformed: a group without ')' at offset 2");
        Run both = storiesGenerate("--json-object", "--regex", "a");
        assertThat(both.stderr()).contains("exclude each other");

        Run bench = run(
                "bench",
                "--model",
                stories(),
                "--tokenizer",
                tok512(),
                "--json-object",
                "--decode-tokens",
                "32",
                "--repeats",
                "1");
        assertThat(bench.exit()).as(bench.stderr()).isZero();
        assertThat(bench.out()).contains("decode free", "under the grammar", "vocabulary 512");
    }

    @Test
    void sampledGenerationIsReproducibleWithASeed() {
        String[] args = {
            "generate",
            "--model",
            stories(),
            "--tokenizer",
            tok512(),
            "--temperature",
            "0.8",
            "--top-p",
            "0.9",
            "--top-k",
            "40",
            "--seed",
            "123",
            "--max-tokens",
            "60"
        };
        Run a = run(args), b = run(args);
        assertThat(a.exit()).isZero();
        assertThat(a.out()).isEqualTo(b.out()).isNotBlank();
        assertThat(a.stderr()).contains("top-k 40").contains("seed 123");
    }

    @Test
    void tokenizePrintsIdsAsJson() {
        Run r = run("tokenize", "--tokenizer", tok512(), "--text", "Once upon a time", "--add-special");
        assertThat(r.exit()).isZero();
        assertThat(r.out().strip()).isEqualTo("[1, 403, 407, 261, 378]");
        Run noBos = run("tokenize", "--tokenizer", tok512(), "--text", "Once upon a time");
        assertThat(noBos.out().strip()).isEqualTo("[403, 407, 261, 378]");
    }

    @Test
    void inspectNeedsNoTokenizerAndShowsFolderSizesAndDms(@TempDir Path dir) throws Exception {
        Path lone = Files.copy(Path.of(stories()), dir.resolve("stories260K.bin"));
        Run noTokenizer = run("inspect", lone.toString());
        assertThat(noTokenizer.exit()).as(noTokenizer.stderr()).isZero();
        assertThat(noTokenizer.out()).contains("layers          5").contains("(tokenizer: none found");
        Path demo = Path.of("..", "models", "kvslim-demo-dms-cr4");
        long files;
        try (var all = Files.walk(demo)) {
            files = all.filter(Files::isRegularFile)
                    .mapToLong(p -> p.toFile().length())
                    .sum();
        }
        Run folder = run("inspect", demo.toString());
        assertThat(folder.exit()).as(folder.stderr()).isZero();
        assertThat(folder.out())
                .contains(String.format("(%,d bytes in its files)", files))
                .contains("dms             window 32, decisions from the adapter");
        assertThat(run("inspect", stories(), "--tokenizer", tok512()).out()).contains("dms             none");
        // the demo tokenizer has no GGUF pre-tokenizer: the conversion says why and what to do instead
        Run gguf = run(
                "convert",
                "--model",
                demo.toString(),
                "--to",
                "gguf",
                "--out",
                dir.resolve("d.gguf").toString());
        assertThat(gguf.exit()).isEqualTo(1);
        assertThat(gguf.stderr()).contains("without word splitting", "convert to safetensors instead");
        assertThat(dir.resolve("d.gguf")).doesNotExist();
    }

    @Test
    void inspectDescribesTheModel() {
        Run r = run("inspect", stories(), "--tokenizer", tok512());
        assertThat(r.exit()).isZero();
        assertThat(r.out())
                .contains("llama2.c (legacy)")
                .contains("layers          5")
                .contains("8 query, 4 key/value")
                .contains("F32: 259328 values")
                .contains("parameters      260,032")
                .contains("kv bytes/token  1280");
        Run g = run(
                "inspect",
                Fixtures.path("gguf/llama-2-tiny-random/llama-2-tiny-random.gguf")
                        .toString());
        assertThat(g.out()).contains("gguf v3").contains("F16").contains("untied");
    }

    @Test
    void quantizeWritesAModelThatRuns(@TempDir Path dir) {
        Path out = dir.resolve("q8.gguf");
        Run q = run(
                "quantize",
                "--model",
                Fixtures.path("stories260K/derived/stories260K.gguf").toString(),
                "--type",
                "q8_0",
                "--out",
                out.toString());
        assertThat(q.exit()).isZero();
        assertThat(q.stderr()).contains("matrices as Q8_0").contains("ffn_down");
        Run g = run(
                "generate",
                "--model",
                out.toString(),
                "--prompt",
                "Once upon a time",
                "--temperature",
                "0",
                "--max-tokens",
                "8");
        assertThat(g.exit()).isZero();
        assertThat(g.out()).startsWith(", there was a");
    }

    @Test
    void badInputIsNamedWithAnExitCode(@TempDir Path dir) throws Exception {
        Run missing = run("generate", "--model", dir.resolve("nope.gguf").toString(), "--prompt", "x");
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.stderr()).contains("nope.gguf").contains("no such file");

        Path junk = dir.resolve("junk.bin");
        Files.write(junk, new byte[] {1, 2, 3});
        Run bad = run("inspect", junk.toString(), "--tokenizer", tok512());
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.stderr()).contains("junk.bin").contains("truncated");

        Run noTokenizer = run("generate", "--model", stories());
        assertThat(noTokenizer.exit()).isEqualTo(1);
        assertThat(noTokenizer.stderr()).contains("--tokenizer");

        Run huge = run("generate", "--model", stories(), "--tokenizer", tok512(), "--max-tokens", "2000000000");
        assertThat(huge.exit()).isEqualTo(1);
        assertThat(huge.stderr()).contains("lower --max-tokens");

        Run usage = run("generate", "--model", stories(), "--bogus");
        assertThat(usage.exit()).isEqualTo(2);
        assertThat(usage.stderr())
                .startsWith("kvslim: error: Unknown option: '--bogus'")
                .contains("kvslim generate --help")
                .doesNotContain("Usage:");

        Run badType = run(
                "quantize",
                "--model",
                junk.toString(),
                "--type",
                "q9_9",
                "--out",
                dir.resolve("o").toString());
        assertThat(badType.exit()).isEqualTo(1);
        assertThat(badType.stderr()).contains("unknown type 'q9_9'");
        Run readOnlyType = run(
                "quantize",
                "--model",
                junk.toString(),
                "--type",
                "q3_k",
                "--out",
                dir.resolve("o").toString());
        assertThat(readOnlyType.exit()).isEqualTo(1);
        assertThat(readOnlyType.stderr()).contains("cannot write Q3_K yet");
        Run mixOnly = run(
                "quantize",
                "--model",
                junk.toString(),
                "--type",
                "q5_k",
                "--out",
                dir.resolve("o").toString());
        assertThat(mixOnly.exit()).isEqualTo(1);
        assertThat(mixOnly.stderr()).contains("--type q5_k_m");
    }

    @Test
    void quantizeAndConvertKeepTheUmasksPermissionsAndWantAnExistingFolder(@TempDir Path dir) throws Exception {
        String gguf = Fixtures.path("stories260K/derived/stories260K.gguf").toString();
        // what this process's umask gives a new file and folder here
        Path controlFile = Files.createFile(dir.resolve("control"));
        Path controlDir = Files.createDirectory(dir.resolve("control-dir"));
        Path q8 = dir.resolve("q8.gguf");
        Run q = run("quantize", "--model", gguf, "--type", "q8_0", "--out", q8.toString());
        assertThat(q.exit()).as(q.stderr()).isZero();
        assertThat(Files.getPosixFilePermissions(q8)).isEqualTo(Files.getPosixFilePermissions(controlFile));
        Path folder = dir.resolve("hf");
        Run c = run("convert", "--model", gguf, "--to", "safetensors", "--out", folder.toString());
        assertThat(c.exit()).as(c.stderr()).isZero();
        assertThat(Files.getPosixFilePermissions(folder)).isEqualTo(Files.getPosixFilePermissions(controlDir));
        assertThat(Files.getPosixFilePermissions(folder.resolve("model.safetensors")))
                .isEqualTo(Files.getPosixFilePermissions(controlFile));

        Path nowhere = dir.resolve("no/such/folder/x.gguf");
        Run missing = run("quantize", "--model", gguf, "--type", "q8_0", "--out", nowhere.toString());
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.stderr()).contains("kvslim: error:", "x.gguf", "the folder it goes in does not exist");
        assertThat(dir.resolve("no")).doesNotExist();
        Run missingFolder = run(
                "convert",
                "--model",
                gguf,
                "--to",
                "safetensors",
                "--out",
                dir.resolve("no/hf").toString());
        assertThat(missingFolder.exit()).isEqualTo(1);
        assertThat(missingFolder.stderr()).contains("the folder it goes in does not exist");
    }

    @Test
    void benchKernelsReportsEachWeightTypeAgainstTheYardstick() throws Exception {
        Run r = run("bench", "--model", stories(), "--kernels", "--repeats", "1", "--json");
        assertThat(r.exit()).as(r.stderr()).isZero();
        var json = tools.jackson.databind.json.JsonMapper.builder().build();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(2);
        var yard = json.readTree(lines.get(0));
        var f32 = json.readTree(lines.get(1));
        assertThat(yard.get("type").asString()).isEqualTo("yardstick F32 4096x768");
        assertThat(yard.get("vs_yardstick").asDouble()).isEqualTo(1.0);
        assertThat(f32.get("type").asString()).isEqualTo("F32");
        // stories260K: 5 layers of 7 matrices and the classifier (its tied embedding)
        assertThat(f32.get("matrices").asInt()).isEqualTo(36);
        assertThat(f32.get("gb_per_s").asDouble()).isPositive();
        Run table = run("bench", "--model", stories(), "--kernels", "--repeats", "1");
        assertThat(table.exit()).as(table.stderr()).isZero();
        assertThat(table.out()).contains("x yardstick", "F32", "stories260K.bin");
    }

    @Test
    void benchModelMeasuresAnyModelFileAsJson() throws Exception {
        Run r = run(
                "bench",
                "--model",
                stories(),
                "--tokenizer",
                tok512(),
                "--prompt-tokens",
                "16",
                "--decode-tokens",
                "4",
                "--repeats",
                "1",
                "--depth",
                "8",
                "--kv-policy",
                "h2o",
                "--kv-ratio",
                "2",
                "--kv-type",
                "f32,f16",
                "--json");
        assertThat(r.exit()).as(r.stderr()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(2);
        var json = tools.jackson.databind.json.JsonMapper.builder().build();
        for (int i = 0; i < 2; i++) {
            var m = json.readTree(lines.get(i));
            assertThat(m.get("model").asString()).isEqualTo("stories260K.bin");
            assertThat(m.get("type").asString()).isEqualTo("F32");
            assertThat(m.get("cache").asString()).isEqualTo("h2o@2 " + (i == 0 ? "f32" : "f16"));
            assertThat(m.get("prompt_tokens").asInt()).isEqualTo(16);
            assertThat(m.get("decode_tokens").asInt()).isEqualTo(4);
            assertThat(m.get("depth").asInt()).isEqualTo(8);
            assertThat(m.get("prefill_tokens_per_s").asDouble()).isPositive();
            assertThat(m.get("decode_best_tokens_per_s").asDouble())
                    .isGreaterThanOrEqualTo(m.get("decode_tokens_per_s").asDouble());
            assertThat(m.get("weight_bytes").asLong()).isPositive();
        }
        Run table = run(
                "bench",
                "--model",
                stories(),
                "--tokenizer",
                tok512(),
                "--prompt-tokens",
                "8",
                "--decode-tokens",
                "2",
                "--repeats",
                "1");
        assertThat(table.exit()).as(table.stderr()).isZero();
        assertThat(table.out()).contains("stories260K.bin", "dense f32", "prefill t/s");
        Run badType = run("bench", "--model", stories(), "--tokenizer", tok512(), "--kv-type", "f16", "--repeats", "1");
        assertThat(badType.exit()).isEqualTo(1);
        assertThat(badType.stderr()).contains("--kv-type f16 needs the paged cache");
        Run tooLong = run("bench", "--model", stories(), "--tokenizer", tok512(), "--prompt-tokens", "600");
        assertThat(tooLong.exit()).isEqualTo(1);
        assertThat(tooLong.stderr()).contains("exceed the model's context of");
    }

    @Test
    void benchCapacityAdmitsCopiesOfOnePrefilledContextUntilTheBudgetRefusesOne() throws Exception {
        var json = tools.jackson.databind.json.JsonMapper.builder().build();
        long budget = 2L << 20;
        int[] admitted = new int[2];
        String[] policies = {"none", "dms"};
        for (int p = 0; p < 2; p++) {
            Run r = capacity(
                    "600", "--kv-policy", policies[p], "--kv-type", "f32,q8_0", "--kv-budget", "2MiB", "--json");
            assertThat(r.exit()).as(r.stderr()).isZero();
            List<String> lines = r.out().lines().toList();
            assertThat(lines).hasSize(2);
            for (String line : lines) {
                var m = json.readTree(line);
                long bytes = m.get("bytes_per_context").asLong();
                int n = m.get("admitted").asInt();
                assertThat(m.get("context").asInt()).isEqualTo(600);
                assertThat(m.get("prefilled_as").asString())
                        .as("one prefill, in the first type")
                        .isEqualTo("f32");
                assertThat(m.get("kv_budget_bytes").asLong()).isEqualTo(budget);
                assertThat(n * bytes).as(line).isLessThanOrEqualTo(budget);
                // the next copy needed the blocks of one context, and fewer were left
                long blockBytes = bytes / m.get("refused_needing_blocks").asLong();
                assertThat(m.get("free_blocks").asLong())
                        .as(line)
                        .isLessThan(m.get("refused_needing_blocks").asLong());
                assertThat((n * bytes + m.get("free_blocks").asLong() * blockBytes) / blockBytes)
                        .as("every block of the budget is either held or free")
                        .isEqualTo(budget / blockBytes);
            }
            admitted[p] = json.readTree(lines.get(0)).get("admitted").asInt();
            assertThat(json.readTree(lines.get(1)).get("admitted").asInt())
                    .as("Q8_0 keys and values take about a quarter of F32's bytes")
                    .isGreaterThan(3 * admitted[p]);
        }
        assertThat(admitted[1]).as("DMS cr8 admits several times the sequences").isGreaterThan(3 * admitted[0]);
        Run zeros = capacity("600", "--kv-policy", "none", "--capacity-fill", "zeros", "--kv-budget", "2MiB", "--json");
        assertThat(zeros.exit()).as(zeros.stderr()).isZero();
        var z = json.readTree(zeros.out().strip());
        assertThat(z.get("fill").asString()).isEqualTo("zeros");
        assertThat(z.get("admitted").asInt())
                .as("an uncompressed cache takes the same blocks whatever its values")
                .isEqualTo(admitted[0]);
        Run dmsZeros = capacity("64", "--kv-policy", "dms", "--capacity-fill", "zeros");
        assertThat(dmsZeros.exit()).isEqualTo(1);
        assertThat(dmsZeros.stderr()).contains("whose evictions need the forward pass");
        Run evicting = capacity("64", "--kv-policy", "h2o", "--kv-ratio", "2");
        assertThat(evicting.exit()).isEqualTo(1);
        assertThat(evicting.stderr()).contains("--capacity takes --kv-policy none or dms");
    }

    /** {@code bench --capacity} on the bundled DMS cr8 model, then {@code args}. */
    private static Run capacity(String... args) {
        String[] all = new String[4 + args.length];
        System.arraycopy(
                new String[] {"bench", "--model", "../models/kvslim-demo-dms-cr8", "--capacity"}, 0, all, 0, 4);
        System.arraycopy(args, 0, all, 4, args.length);
        return run(all);
    }

    @Test
    void convertsToAFolderThatGenerateRuns(@TempDir Path dir) throws Exception {
        Path folder = dir.resolve("stories-hf");
        Run c = run(
                "convert",
                "--model",
                Fixtures.path("stories260K/derived/stories260K.gguf").toString(),
                "--to",
                "safetensors",
                "--out",
                folder.toString());
        assertThat(c.exit()).isZero();
        assertThat(c.stderr()).contains("tokenizer.gguf");
        Run g = run(
                "generate",
                "--model",
                folder.toString(),
                "--prompt",
                "Once upon a time",
                "--temperature",
                "0",
                "--max-tokens",
                "196",
                "--echo");
        assertThat(g.exit()).isZero();
        assertThat(g.stdout()).isEqualTo(Files.readAllBytes(Fixtures.path("stories260K/golden/2.txt")));
        Path back = dir.resolve("back.gguf");
        assertThat(run("convert", "--model", folder.toString(), "--to", "gguf", "--out", back.toString())
                        .exit())
                .isZero();
        assertThat(run("inspect", back.toString()).out()).contains("gguf v3").contains("layers          5");
    }

    @Test
    void chatRendersTheTemplateAndReusesTheCacheBetweenTurns(@TempDir Path dir) throws Exception {
        Path folder = dir.resolve("stories-chat");
        assertThat(run(
                                "convert",
                                "--model",
                                Fixtures.path("stories260K/derived/stories260K.gguf")
                                        .toString(),
                                "--to",
                                "safetensors",
                                "--out",
                                folder.toString())
                        .exit())
                .isZero();
        Files.writeString(folder.resolve("tokenizer_config.json"), """
                {"chat_template": "{% for m in messages %}{{ m['content'] }}{% if m['role'] == 'user' %}.{% endif %}{% endfor %}"}
                """);
        Run r = runWithInput(
                "Once upon a time\nLily\n/exit\n",
                "chat",
                "--model",
                folder.toString(),
                "--temperature",
                "0",
                "--max-tokens",
                "12");
        assertThat(r.exit()).isZero();
        String[] replies = r.out().split("\n");
        assertThat(replies).hasSize(2);
        assertThat(replies[0]).isNotBlank();
        assertThat(r.stderr()).contains(", 0 reused;");
        // the second turn's prompt starts with the first turn and its reply, which the cache already holds
        assertThat(r.stderr()).containsPattern("\\[\\d+ prompt tokens, [1-9]\\d* reused;");
        Run none = run("chat", "--model", stories(), "--tokenizer", tok512());
        assertThat(none.exit()).isEqualTo(1);
        assertThat(none.stderr()).contains("has no chat template");
    }

    @Test
    void dmsModelsCompressTheirCacheAndReportIt(@TempDir Path dir) throws Exception {
        Path folder = dir.resolve("stories-dms");
        assertThat(run(
                                "convert",
                                "--model",
                                Fixtures.path("stories260K/derived/stories260K.gguf")
                                        .toString(),
                                "--to",
                                "safetensors",
                                "--out",
                                folder.toString())
                        .exit())
                .isZero();
        Path config = folder.resolve("config.json");
        // variant A (the query channel) needs no extra weights; this model was never trained for it
        Files.writeString(
                config,
                Files.readString(config)
                        .replaceFirst(
                                "\\{",
                                "{\"dms_window_size\": 16, \"dms_alpha_scale\": 100.0,"
                                        + " \"dms_initial_alpha_offset\": 5.0, \"dms_separate_alpha\": false,"));
        String[] args = {
            "generate",
            "--model",
            folder.toString(),
            "--prompt",
            "Once upon a time",
            "--temperature",
            "0",
            "--max-tokens",
            "150"
        };
        Run dms = run(args);
        assertThat(dms.exit()).isZero();
        assertThat(dms.stderr()).contains("kv cache: dms, compression").contains("uncompressed");
        double ratio = Double.parseDouble(dms.stderr().replaceAll("(?s).*compression ([0-9.]+)x.*", "$1"));
        assertThat(ratio).isGreaterThan(1.5);
        Run none = run(java.util.stream.Stream.concat(
                        java.util.Arrays.stream(args), java.util.stream.Stream.of("--kv-policy", "none"))
                .toArray(String[]::new));
        assertThat(none.stderr()).contains("kv cache: none, compression 1.00x");
        Run wider = run(java.util.stream.Stream.concat(
                        java.util.Arrays.stream(args), java.util.stream.Stream.of("--kv-window", "64"))
                .toArray(String[]::new));
        double widerRatio = Double.parseDouble(wider.stderr().replaceAll("(?s).*compression ([0-9.]+)x.*", "$1"));
        assertThat(widerRatio).isLessThan(ratio);
        Run plain = run("generate", "--model", stories(), "--tokenizer", tok512(), "--kv-policy", "dms");
        assertThat(plain.exit()).isEqualTo(1);
        assertThat(plain.stderr()).contains("was not retrofitted with DMS");
    }

    @Test
    void kvzipIsRefusedWhereNoPromptIsReplayed() {
        for (String command : new String[] {"savings", "bench"}) {
            Run r = run(
                    command, "--model", stories(), "--tokenizer", tok512(), "--kv-policy", "kvzip", "--kv-ratio", "4");
            assertThat(r.exit()).as(command).isEqualTo(1);
            assertThat(r.stderr())
                    .as(command)
                    .contains("--kv-policy kvzip scores a prompt by replaying it through the model before decoding,"
                            + " which " + command + " does not do");
        }
    }

    @Test
    void baselinesCompressToTheAskedRatio() {
        for (String policy : dev.kvslim.core.kv.KvPolicies.NAMES.toArray(String[]::new)) {
            Run r = run(
                    "generate",
                    "--model",
                    stories(),
                    "--tokenizer",
                    tok512(),
                    "--prompt",
                    "Once upon a time",
                    "--temperature",
                    "0",
                    "--max-tokens",
                    "120",
                    "--kv-policy",
                    policy,
                    "--kv-ratio",
                    "4");
            assertThat(r.exit()).as(policy).isZero();
            double ratio = Double.parseDouble(r.stderr().replaceAll("(?s).*compression ([0-9.]+)x.*", "$1"));
            // snapkv compresses while decoding only once a head is a whole block (256 tokens) over its budget,
            // which 125 tokens never reach: it keeps what prefill kept
            assertThat(ratio).as(policy).isBetween(policy.equals("snapkv") ? 1.0 : 3.8, 4.2);
            assertThat(r.stderr()).contains("kv cache: " + policy);
        }
        Run missing = run("generate", "--model", stories(), "--tokenizer", tok512(), "--kv-policy", "h2o");
        assertThat(missing.stderr()).contains("needs one of --kv-ratio and --kv-tokens");
        Run unknown =
                run("generate", "--model", stories(), "--tokenizer", tok512(), "--kv-policy", "lru", "--kv-ratio", "2");
        assertThat(unknown.stderr())
                .contains("unknown KV policy 'lru'")
                .contains("h2o")
                .contains("dms");
    }

    @Test
    void sixteenBitKvTypesHalveTheCacheBytes() {
        String[] args = {
            "generate",
            "--model",
            stories(),
            "--tokenizer",
            tok512(),
            "--prompt",
            "Once upon a time",
            "--temperature",
            "0",
            "--max-tokens",
            "60",
            "--kv-policy",
            "none",
            "--kv-type"
        };
        Run f32 = run(java.util.stream.Stream.concat(java.util.Arrays.stream(args), java.util.stream.Stream.of("f32"))
                .toArray(String[]::new));
        Run f16 = run(java.util.stream.Stream.concat(java.util.Arrays.stream(args), java.util.stream.Stream.of("f16"))
                .toArray(String[]::new));
        assertThat(f16.exit()).isZero();
        assertThat(f16.stderr()).contains("kv cache: none, compression 1.00x").contains("live f16 keys and values");
        assertThat(liveBytes(f16)).isPositive().isEqualTo(liveBytes(f32) / 2);
        // without a policy, f16 selects the paged cache
        Run auto = run(
                "generate", "--model", stories(), "--tokenizer", tok512(), "--max-tokens", "5", "--kv-type", "bf16");
        assertThat(auto.stderr()).contains("kv cache: none, compression 1.00x").contains("live bf16 keys");
        Run bad = run("generate", "--model", stories(), "--tokenizer", tok512(), "--kv-type", "q4");
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.stderr()).contains("unknown KV element type 'q4'");
    }

    private static long liveBytes(Run r) {
        return Long.parseLong(r.stderr()
                .replaceAll("(?s).*compression [0-9.]+x; ([0-9,]+) bytes of live.*", "$1")
                .replace(",", ""));
    }
}
