package dev.kvslim.core.io;

import java.nio.file.Path;

/** A model or tokenizer file that cannot be read as what it claims to be; the message names the file and the fault. */
public class ModelFormatException extends RuntimeException {

    public ModelFormatException(Path file, String message) {
        super(file + ": " + message);
    }

    public ModelFormatException(Path file, String message, Throwable cause) {
        super(file + ": " + message, cause);
    }
}
