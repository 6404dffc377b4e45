package dev.kvslim.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fleet's balancer configuration (the run itself is `./kvslim bench --fleet`, minutes long: docs/deploy.md). */
class FleetBenchmarkTest {

    @Test
    void theBalancerChecksReadinessOverHttp11AndRetriesWhatFailedBeforeAnAnswer(@TempDir Path dir) throws Exception {
        String cfg = FleetBenchmark.config(8000, List.of(8081, 8082, 8083), 8090);
        assertThat(cfg)
                .contains(
                        "bind 127.0.0.1:8000",
                        "server replica1 127.0.0.1:8081",
                        "server replica3 127.0.0.1:8083",
                        "balance leastconn",
                        // HAProxy's default check speaks HTTP/1.0, which the server answers with 505
                        "http-check send meth GET uri /ready ver HTTP/1.1",
                        "retry-on conn-failure empty-response 503",
                        "http-response set-header x-replica %s",
                        "bind 127.0.0.1:8090",
                        "stats uri /stats");
        Path haproxy = Path.of("/usr/sbin/haproxy");
        if (Files.isExecutable(haproxy)) { // where Debian's haproxy is installed, it accepts the file
            Path file = dir.resolve("haproxy.cfg");
            Files.writeString(file, cfg);
            Process p = new ProcessBuilder(haproxy.toString(), "-c", "-f", file.toString())
                    .redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor()).as(out).isZero();
        }
    }
}
