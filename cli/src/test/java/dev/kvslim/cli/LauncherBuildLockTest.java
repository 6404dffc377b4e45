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

/**
 * The {@code kvslim} launcher, two copies started at once on a checkout that needs building: one builds, the other
 * waits for it and then finds nothing to build (before the lock both built into the same folders and one failed
 * with a compile error). The build is a stand-in {@code mvnw} that logs its start and end around a pause.
 */
class LauncherBuildLockTest {

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
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        return pb.start();
    }
}
