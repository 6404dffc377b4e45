package dev.kvslim.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code kvslim} launcher, run on copies of itself with stand-ins for Maven and the system's tools. */
class LauncherTest {

    /**
     * {@code ./kvslim test} as root where Chromium is missing installs it without recommended packages (it used to
     * pull in upgrades of unrelated system packages), then runs the tests. The tools it calls come from a folder of
     * links, with {@code apt-get} and {@code mvnw} stand-ins that log their arguments and {@code id} saying root.
     */
    @Test
    void testInstallsChromiumWithoutRecommendedPackages(@TempDir Path root) throws Exception {
        Path launcher = root.resolve("kvslim");
        Files.copy(Path.of("..", "kvslim"), launcher);
        Path bin = Files.createDirectory(root.resolve("bin"));
        for (String tool :
                new String[] {"bash", "dirname", "sed", "find", "mkdir", "touch", "cat", "mv", "env", "rm"}) {
            Path real = Path.of("/usr/bin", tool);
            Files.createSymbolicLink(bin.resolve(tool), Files.exists(real) ? real : Path.of("/bin", tool));
        }
        script(bin.resolve("apt-get"), "echo \"apt-get $*\" >> \"" + root.resolve("calls.log") + "\"");
        script(bin.resolve("id"), "echo 0");
        script(root.resolve("mvnw"), "echo \"mvnw $*\" >> \"" + root.resolve("calls.log") + "\"");
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        ProcessBuilder pb = new ProcessBuilder(bin.resolve("bash").toString(), launcher.toString(), "test")
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("PATH", bin.toString());
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        List<String> calls = Files.readAllLines(root.resolve("calls.log"));
        assertThat(calls)
                .containsExactly(
                        "apt-get update -qq",
                        "apt-get install -y -qq --no-install-recommends --no-upgrade chromium",
                        "mvnw -B verify");
    }

    private static void script(Path file, String body) throws java.io.IOException {
        Files.writeString(file, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /**
     * Two copies started at once on a checkout that needs building: one builds, the other waits for it and then
     * finds nothing to build (before the lock both built into the same folders and one failed with a compile error).
     * The build is a stand-in {@code mvnw} that logs its start and end around a pause.
     */
    @Test
    void twoLaunchersStartedAtOnceBuildOnce(@TempDir Path root) throws Exception {
        Path launcher = root.resolve("kvslim");
        Files.copy(Path.of("..", "kvslim"), launcher, StandardCopyOption.COPY_ATTRIBUTES);
        Path mvnw = root.resolve("mvnw");
        Files.writeString(mvnw, """
                #!/usr/bin/env bash
                echo "start $$" >> builds.log
                sleep 2
                mkdir -p cli/target/lib && touch cli/target/kvslim-cli.jar
                echo "end $$" >> builds.log
                """);
        Files.setPosixFilePermissions(mvnw, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));

        Process first = start(root), second = start(root);
        assertThat(first.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(second.waitFor(60, TimeUnit.SECONDS)).isTrue();
        List<String> log = Files.readAllLines(root.resolve("builds.log"));
        assertThat(log).hasSize(2);
        assertThat(log.get(0)).startsWith("start ");
        assertThat(log.get(1)).isEqualTo("end " + log.get(0).substring("start ".length()));
    }

    private static Process start(Path root) throws java.io.IOException {
        ProcessBuilder pb = new ProcessBuilder(root.resolve("kvslim").toString(), "--version")
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        return pb.start();
    }
}
