package dev.kvslim.core.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Maps a whole file read-only; the mapping lives as long as something references a slice of it. */
public final class MappedFile {

    private MappedFile() {}

    public static MemorySegment map(Path file) {
        if (!Files.exists(file)) {
            throw new ModelFormatException(file, "no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(file, "not a regular file");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) {
                return Arena.ofAuto().allocate(0);
            }
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, size, Arena.ofAuto());
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "no such file", e);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot be read: " + e.getMessage(), e);
        }
    }
}
