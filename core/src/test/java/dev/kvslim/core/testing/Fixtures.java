package dev.kvslim.core.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Locates the shared fixtures ({@code ../shared/fixtures} from the project root, or {@code -Dkvslim.fixtures},
 * or {@code KVSLIM_FIXTURES}). A missing fixture skips the test on a developer machine and fails it under
 * {@code CI=true}: CI never passes by skipping.
 */
public final class Fixtures {

    private Fixtures() {}

    public static Path root() {
        String prop = System.getProperty("kvslim.fixtures");
        if (prop == null || prop.isBlank()) {
            prop = System.getenv("KVSLIM_FIXTURES");
        }
        if (prop == null || prop.isBlank()) {
            prop = "../shared/fixtures";
        }
        return Path.of(prop).toAbsolutePath().normalize();
    }

    /** The fixture at {@code relative}, which must exist (see the class comment for what happens if not). */
    public static Path path(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            String message = "fixture missing: " + p + " (set -Dkvslim.fixtures or KVSLIM_FIXTURES)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail(message);
            }
            Assumptions.abort(message);
        }
        return p;
    }
}
