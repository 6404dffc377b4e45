package dev.kvslim.core.format;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.io.MappedFile;
import dev.kvslim.core.tensor.F32Tensor;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Weights past the 2 GiB mark of a file (a sparse 3 GiB file) are mapped and read in place. */
class LargeFileTest {

    @Test
    void readsAWeightRowBeyondTwoGibibytes(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("big.bin");
        long offset = (5L << 29) + 12; // 2.5 GiB + 12
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(3L << 30);
            ByteBuffer row = ByteBuffer.allocate(16 * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 16; i++) {
                row.putFloat(i + 0.5f);
            }
            raf.seek(offset);
            raf.write(row.array());
        }
        MemorySegment mapped = MappedFile.map(file);
        assertThat(mapped.byteSize()).isEqualTo(3L << 30);
        F32Tensor t = new F32Tensor(mapped.asSlice(offset, 64), 1, 16);
        float[] x = new float[16];
        java.util.Arrays.fill(x, 1f);
        assertThat(t.dot(0, x, 0)).isEqualTo(128f); // 0.5 + 1.5 + ... + 15.5 = 16 * 8
        assertThat(t.get(15)).isEqualTo(15.5f);
    }
}
