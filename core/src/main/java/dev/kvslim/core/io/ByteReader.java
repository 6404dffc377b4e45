package dev.kvslim.core.io;

import dev.kvslim.core.tensor.LittleEndian;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Little-endian reads from a mapped file, each checked against the end of the file, so that a truncated or
 * lying file gives a {@link ModelFormatException} naming the offset instead of a crash or a huge allocation.
 */
public final class ByteReader {

    private final Path file;
    private final MemorySegment data;
    private long pos;

    public ByteReader(Path file, MemorySegment data) {
        this.file = file;
        this.data = data;
    }

    /** Whether {@code data} begins with the little-endian 32-bit {@code magic}. */
    public static boolean startsWith(MemorySegment data, int magic) {
        return data.byteSize() >= 4 && data.get(LittleEndian.I32, 0) == magic;
    }

    public Path file() {
        return file;
    }

    public MemorySegment segment() {
        return data;
    }

    public long position() {
        return pos;
    }

    public void seek(long position) {
        if (position < 0 || position > data.byteSize()) {
            throw fail("offset " + position + " is outside the file (" + data.byteSize() + " bytes)");
        }
        pos = position;
    }

    public long remaining() {
        return data.byteSize() - pos;
    }

    /** Fails unless {@code bytes} more bytes exist, naming {@code what} was being read. */
    public void need(long bytes, String what) {
        if (bytes < 0 || bytes > remaining()) {
            throw fail("truncated: " + what + " needs " + bytes + " bytes at offset " + pos + ", only " + remaining()
                    + " left");
        }
    }

    public ModelFormatException fail(String message) {
        return new ModelFormatException(file, message);
    }

    public int u8(String what) {
        need(1, what);
        return data.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF;
    }

    public short i16(String what) {
        need(2, what);
        short v = data.get(LittleEndian.I16, pos);
        pos += 2;
        return v;
    }

    public int i32(String what) {
        need(4, what);
        int v = data.get(LittleEndian.I32, pos);
        pos += 4;
        return v;
    }

    public long i64(String what) {
        need(8, what);
        long v = data.get(LittleEndian.I64, pos);
        pos += 8;
        return v;
    }

    public float f32(String what) {
        need(4, what);
        float v = data.get(LittleEndian.F32, pos);
        pos += 4;
        return v;
    }

    public double f64(String what) {
        need(8, what);
        double v = data.get(LittleEndian.F64, pos);
        pos += 8;
        return v;
    }

    public byte[] bytes(long n, String what) {
        if (n > Integer.MAX_VALUE - 8) {
            throw fail(what + " claims " + n + " bytes");
        }
        need(n, what);
        byte[] out = new byte[(int) n];
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, pos, out, 0, (int) n);
        pos += n;
        return out;
    }

    /** A UTF-8 string of {@code n} bytes; malformed UTF-8 is an error. */
    public String utf8(long n, String what) {
        byte[] raw = bytes(n, what);
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(raw))
                    .toString();
        } catch (CharacterCodingException e) {
            throw fail(what + " at offset " + (pos - n) + " is not valid UTF-8");
        }
    }

    /** A slice of {@code n} bytes at the current position, which then moves past it. */
    public MemorySegment slice(long n, String what) {
        need(n, what);
        MemorySegment s = data.asSlice(pos, n);
        pos += n;
        return s;
    }
}
