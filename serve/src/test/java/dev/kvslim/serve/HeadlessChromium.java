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
 * Debian's Chromium, headless, for tests of the pages the server serves: the DOM after the page's scripts ran for a
 * while of virtual time, and a screenshot. Without Chromium a test skips locally and fails under CI (CI=true), saying
 * how to install it ({@code ./kvslim test} installs it when run as root).
 */
public final class HeadlessChromium {

    private static final String INSTALL =
            "install Debian's Chromium: apt-get install -y chromium (./kvslim test does" + " this when run as root)";
    private final Path binary;

    private HeadlessChromium(Path binary) {
        this.binary = binary;
    }

    /** The installed Chromium; skips the test (fails it under CI) when there is none. */
    public static HeadlessChromium find() {
        for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return new HeadlessChromium(p);
                }
            }
        }
        if ("true".equals(System.getenv("CI"))) {
            throw new AssertionError("Chromium is needed for the dashboard test and is not on the PATH: " + INSTALL);
        }
        Assumptions.abort("no Chromium on the PATH, skipping the browser test: " + INSTALL);
        return null;
    }

    /** The page's DOM after {@code virtualMillis} of virtual time. */
    public String dumpDom(String url, int virtualMillis) throws IOException, InterruptedException {
        return new String(run(url, virtualMillis, "--dump-dom"), StandardCharsets.UTF_8);
    }

    /** Saves a PNG screenshot of the page after {@code virtualMillis} of virtual time to {@code png}. */
    public void screenshot(String url, int virtualMillis, Path png) throws IOException, InterruptedException {
        Files.createDirectories(png.toAbsolutePath().getParent());
        run(url, virtualMillis, "--screenshot=" + png.toAbsolutePath());
        if (!Files.isRegularFile(png) || Files.size(png) == 0) {
            throw new AssertionError("Chromium wrote no screenshot to " + png);
        }
    }

    private byte[] run(String url, int virtualMillis, String action) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory("kvslim-chromium");
        List<String> command = new ArrayList<>(List.of(
                binary.toString(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
                "--user-data-dir=" + profile,
                "--window-size=1200,900",
                "--virtual-time-budget=" + virtualMillis,
                action,
                url));
        Path out = Files.createTempFile("kvslim-chromium", ".out");
        Path err = Files.createTempFile("kvslim-chromium", ".err");
        Process p = new ProcessBuilder(command)
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError("Chromium did not finish in 120 s: " + Files.readString(err));
            }
            if (p.exitValue() != 0) {
                throw new AssertionError("Chromium exited with " + p.exitValue() + ": " + Files.readString(err));
            }
            return Files.readAllBytes(out);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
            try (var files = Files.walk(profile)) {
                files.sorted(java.util.Comparator.reverseOrder())
                        .forEach(f -> f.toFile().delete());
            }
        }
    }
}
