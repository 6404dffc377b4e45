package dev.kvslim.core.io;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Where a file or folder is written before it is moved into place in one step: beside the target, named
 * {@code TARGET.partial-PID-N}, created with the permissions the user's umask gives new files and folders
 * ({@link Files#createTempFile} would make them private, and the rename would carry that to the result).
 */
public final class AtomicFiles {

    private AtomicFiles() {}

    /** A new empty file beside {@code target}; the folder {@code target} goes in must exist. */
    public static Path partialFile(Path target) throws IOException {
        Path dir = existingParent(target);
        for (int i = 0; ; i++) {
            Path p = dir.resolve(partialName(target, i));
            try {
                Files.newOutputStream(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)
                        .close();
                return p;
            } catch (FileAlreadyExistsException e) {
                if (i >= 1000) {
                    throw e;
                }
            }
        }
    }

    /** A new empty folder beside {@code target}; the folder {@code target} goes in must exist. */
    public static Path partialDirectory(Path target) throws IOException {
        Path dir = existingParent(target);
        for (int i = 0; ; i++) {
            Path p = dir.resolve(partialName(target, i));
            try {
                return Files.createDirectory(p);
            } catch (FileAlreadyExistsException e) {
                if (i >= 1000) {
                    throw e;
                }
            }
        }
    }

    private static String partialName(Path target, int i) {
        return target.getFileName() + ".partial-" + ProcessHandle.current().pid() + "-" + i;
    }

    private static Path existingParent(Path target) throws IOException {
        Path dir = target.toAbsolutePath().normalize().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new NoSuchFileException(target.toString(), null, "the folder it goes in does not exist");
        }
        return dir;
    }
}
