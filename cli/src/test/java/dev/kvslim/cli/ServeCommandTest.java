package dev.kvslim.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.serve.KvSlimServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code kvslim serve}: options and config file reach the server, and missing models are reported clearly. */
class ServeCommandTest {

    @Test
    void servesTheModelItIsGivenWithTheConfigFilesKeys(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("serve.json");
        Files.writeString(config, "{\"port\": 1, \"max_running\": 4, \"api_keys\": {\"ops\": \"sk-test\"}}");
        ServeCommand command = command("--kv-budget", "33554432", "--config", config.toString());
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (KvSlimServer server = command.start(new PrintStream(err, true, StandardCharsets.UTF_8))) {
            assertThat(server.models().getFirst().scheduler().pool().budgetBytes())
                    .isEqualTo(33554432L);
            HttpClient http = HttpClient.newHttpClient();
            URI models = URI.create("http://127.0.0.1:" + server.port() + "/v1/models");
            assertThat(http.send(HttpRequest.newBuilder(models).build(), HttpResponse.BodyHandlers.ofString())
                            .statusCode())
                    .isEqualTo(401);
            HttpResponse<String> ok = http.send(
                    HttpRequest.newBuilder(models)
                            .header("Authorization", "Bearer sk-test")
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(ok.body()).contains("\"id\":\"stories260K\"");
        }
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("serving 'stories260K'", "API keys: 1", "ran 'stories260K' for the JIT");
    }

    /** A serve command for the stories260K model on a free port, with {@code extra} options. */
    private static ServeCommand command(String... extra) {
        ServeCommand command = new ServeCommand();
        List<String> args = new ArrayList<>(
                List.of("--model", CommandLineTest.stories(), "--tokenizer", CommandLineTest.tok512(), "--port", "0"));
        args.addAll(List.of(extra));
        new CommandLine(command).parseArgs(args.toArray(String[]::new));
        return command;
    }

    /** {@code --no-warm-up} listens without running the made-up sequence first. */
    @Test
    void noWarmUpSkipsTheKernelRun() throws Exception {
        ServeCommand command = command("--no-warm-up");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (KvSlimServer server = command.start(new PrintStream(err, true, StandardCharsets.UTF_8))) {
            assertThat(server.port()).isPositive();
        }
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("serving 'stories260K'")
                .doesNotContain("JIT");
    }

    @Test
    void kvTypeComesFromTheFlagOrTheConfigFile(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("serve.json");
        Files.writeString(config, "{\"kv_type\": \"bf16\"}");
        for (String[] extra : new String[][] {{"--kv-type", "F16"}, {"--config", config.toString()}}) {
            List<String> args = new ArrayList<>(List.of("--kv-budget", "32MiB"));
            args.addAll(List.of(extra));
            ServeCommand command = command(args.toArray(String[]::new));
            try (KvSlimServer server =
                    command.start(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))) {
                var pool = server.models().getFirst().scheduler().pool();
                assertThat(pool.budgetBytes()).isEqualTo(32L << 20);
                assertThat(pool.type()).hasToString(extra[0].equals("--kv-type") ? "f16" : "bf16");
            }
        }
        Files.writeString(config, "{\"kv_type\": \"f8\"}");
        CommandLineTest.Run bad = CommandLineTest.run(
                "serve",
                "--model",
                CommandLineTest.stories(),
                "--tokenizer",
                CommandLineTest.tok512(),
                "--port",
                "0",
                "--config",
                config.toString());
        assertThat(bad.exit()).isNotZero();
        assertThat(bad.stderr()).contains("'kv_type' in", "unknown KV element type 'f8'");
    }

    /** `serve` of stories260K in its own JVM (the process's exit status is what these tests check), with {@code extra}. */
    private static Process serveProcess(String... extra) throws java.io.IOException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules",
                "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                KvSlim.class.getName(),
                "serve",
                "--model",
                CommandLineTest.stories(),
                "--tokenizer",
                CommandLineTest.tok512()));
        cmd.addAll(List.of(extra));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    @Test
    @org.junit.jupiter.api.Timeout(120)
    void sigtermDrainsAndExitsZero() throws Exception {
        // a real process: the JVM reports 143 for a process ended by SIGTERM unless serve exits with its own status
        Process p = serveProcess("--port", "0");
        StringBuilder out = new StringBuilder();
        try (var lines =
                new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = lines.readLine()) != null; ) {
                out.append(line).append('\n');
                if (line.contains("listening on")) {
                    p.toHandle().destroy(); // SIGTERM, leaving our end of its output open
                }
            }
        }
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out.toString()).isZero();
        assertThat(out.toString()).contains("kvslim: shutting down");
    }

    @Test
    @org.junit.jupiter.api.Timeout(120)
    void aServerThatCannotStartExitsOne() throws Exception {
        // a real process: the drain hook (installed before start-up) must not turn a start-up error into exit 0
        Process p = serveProcess("--kv-budget", "10000");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(1);
        assertThat(out).contains("kvslim: error: a KV budget of 10000 bytes holds no sequence");
    }

    @Test
    void theBundledModelsAnswerChatRequests() throws Exception {
        // their chat template makes a conversation the task text: BOS and the messages, as a completion's prompt
        ServeCommand command = new ServeCommand();
        new CommandLine(command).parseArgs("--model", "../models/kvslim-demo-dms-cr4", "--port", "0");
        try (KvSlimServer server =
                command.start(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))) {
            HttpClient http = HttpClient.newHttpClient();
            String prompt = "The code for QX=4821. The code for BR=7730. What is the code for QX? QX=";
            String chat = post(
                    http,
                    server,
                    "/v1/chat/completions",
                    "{\"messages\": [{\"role\": \"user\", \"content\": "
                            + tools.jackson.databind.json.JsonMapper.builder()
                                    .build()
                                    .writeValueAsString(prompt)
                            + "}], \"max_tokens\": 6, \"temperature\": 0}");
            String completion = post(
                    http,
                    server,
                    "/v1/completions",
                    "{\"prompt\": "
                            + tools.jackson.databind.json.JsonMapper.builder()
                                    .build()
                                    .writeValueAsString(prompt)
                            + ", \"max_tokens\": 6, \"temperature\": 0}");
            var json = tools.jackson.databind.json.JsonMapper.builder().build();
            String chatText = json.readTree(chat)
                    .get("choices")
                    .get(0)
                    .get("message")
                    .get("content")
                    .asString();
            String completionText =
                    json.readTree(completion).get("choices").get(0).get("text").asString();
            assertThat(chatText).isEqualTo(completionText).isNotEmpty();
        }
    }

    private static String post(HttpClient http, KvSlimServer server, String path, String body) throws Exception {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return r.body();
    }

    @Test
    void withoutAModelItAsksForOne() {
        CommandLineTest.Run r = CommandLineTest.run("serve", "--port", "0");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.stderr()).contains("no --model given", "no bundled demo models here", "--model PATH");
    }

    @Test
    @org.junit.jupiter.api.Timeout(120) // before the fix the server went on without a port and never returned
    void aBusyPortIsOneLineAndExit1() throws Exception {
        try (java.net.ServerSocket taken =
                new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            String port = Integer.toString(taken.getLocalPort());
            CommandLineTest.Run r = CommandLineTest.run(
                    "serve",
                    "--model",
                    CommandLineTest.stories(),
                    "--tokenizer",
                    CommandLineTest.tok512(),
                    "--port",
                    port);
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.stderr())
                    .contains("cannot listen on 127.0.0.1:" + port, "in use")
                    .doesNotContain("listening on")
                    .doesNotContain("\tat ");
        }
    }

    @Test
    void aBudgetTooSmallForOneSequenceIsAStartUpError() {
        CommandLineTest.Run r = CommandLineTest.run(
                "serve",
                "--model",
                CommandLineTest.stories(),
                "--tokenizer",
                CommandLineTest.tok512(),
                "--port",
                "0",
                "--kv-budget",
                "10000");
        assertThat(r.exit()).isEqualTo(1);
        // stories260K: 5 layers x 4 KV heads x (a block of tokens x 8 channels x keys and values x 4 bytes); a block
        // of its 512-token context is one vector's worth of tokens (16 with 512-bit vectors)
        long least = 5L * 4 * dev.kvslim.core.kv.PagedKvCache.blockSizeFor(512) * 8 * 2 * 4;
        assertThat(r.stderr())
                .contains(
                        "KV budget of 10000 bytes holds no sequence",
                        "at least " + least + " bytes",
                        "--kv-budget " + least);
    }

    @Test
    void aBadConfigFileIsNamed(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("bad.json");
        Files.writeString(config, "{\"prot\": 80}");
        CommandLineTest.Run r = CommandLineTest.run(
                "serve",
                "--model",
                CommandLineTest.stories(),
                "--tokenizer",
                CommandLineTest.tok512(),
                "--config",
                config.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.stderr()).contains("bad.json", "unknown setting 'prot'");
    }
}
