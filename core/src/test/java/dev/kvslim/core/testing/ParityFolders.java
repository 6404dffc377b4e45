package dev.kvslim.core.testing;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** The tiny Hugging Face folders written by tools/hf_parity/make_fixtures.py (test resources, with their goldens). */
public final class ParityFolders {

    private ParityFolders() {}

    public static Path path(String name) {
        try {
            return Path.of(ParityFolders.class.getResource("/hf-parity/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("no parity folder " + name, e);
        }
    }
}
