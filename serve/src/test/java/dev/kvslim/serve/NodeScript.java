package dev.kvslim.serve;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A Node.js script of the tests with its npm packages: installs them with {@code npm ci} from the folder's
 * package-lock.json when node_modules is missing, and runs the script. Without node or npm a test skips locally and
 * fails under CI (CI=true).
 */
final class NodeScript {

    /** What a finished run printed and how it exited. */
    record Result(int exitCode, String output) {}

    private final Path folder;

    NodeScript(Path folder) {
        this.folder = folder;
    }

    /** The folder's packages, installed if they are not yet. */
    NodeScript installed() throws IOException, InterruptedException {
        require("node");
        if (!Files.isDirectory(folder.resolve("node_modules"))) {
            require("npm");
            Result r = run(List.of("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"), 300);
            if (r.exitCode() != 0) {
                throw new AssertionError("npm ci in " + folder + " failed (" + r.exitCode() + "):\n" + r.output());
            }
        }
        return this;
    }

    /** Runs {@code node script args...} in the folder, for at most {@code timeoutSeconds}. */
    Result node(String script, int timeoutSeconds, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("node", script));
        command.addAll(List.of(args));
        return run(command, timeoutSeconds);
    }

    private Result run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        Path out = Files.createTempFile("kvslim-node", ".out");
        try {
            Process p = new ProcessBuilder(command)
                    .directory(folder.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(out.toFile())
                    .start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s:\n"
                        + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static void require(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return;
            }
        }
        String message = tool + " is not on the PATH: install Node.js 20 or newer with npm (e.g. apt-get install -y"
                + " nodejs npm) to run the OpenAI-client test";
        if ("true".equals(System.getenv("CI"))) {
            throw new AssertionError(message);
        }
        Assumptions.abort(message);
    }
}
