package dev.kvslim.tasks.text;

import java.nio.file.Path;

/** A training text file that cannot be used; the message names the file and what is wrong with it. */
public class TextFileException extends RuntimeException {

    public TextFileException(Path file, String message) {
        super(file + ": " + message);
    }

    public TextFileException(Path file, String message, Throwable cause) {
        super(file + ": " + message, cause);
    }
}
