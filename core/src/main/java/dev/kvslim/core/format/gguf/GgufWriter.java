package dev.kvslim.core.format.gguf;

import dev.kvslim.core.io.AtomicFiles;
import dev.kvslim.core.tensor.GgmlType;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF v3 files: metadata in insertion order, then tensor infos, then aligned tensor data. The file is
 * written to a temporary sibling and renamed into place, so a failed write never leaves a partial model.
 */
public final class GgufWriter {

    private static final int ALIGNMENT = 32;

    private record Tensor(String name, GgmlType type, long[] dims, MemorySegment data) {}

    private final Map<String, GgufKv> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();

    /** Adds a metadata entry; {@code general.alignment} is the writer's own and is not copied. */
    public GgufWriter put(GgufKv kv) {
        if (!kv.key().equals("general.alignment")) {
            metadata.put(kv.key(), kv);
        }
        return this;
    }

    public GgufWriter putString(String key, String value) {
        return put(GgufKv.of(key, GgufValueType.STRING, value));
    }

    public GgufWriter putUInt32(String key, long value) {
        return put(GgufKv.of(key, GgufValueType.UINT32, value));
    }

    public GgufWriter putFloat32(String key, float value) {
        return put(GgufKv.of(key, GgufValueType.FLOAT32, value));
    }

    public GgufWriter putBool(String key, boolean value) {
        return put(GgufKv.of(key, GgufValueType.BOOL, value));
    }

    /** Adds a tensor; {@code dims[0]} is the innermost dimension, and {@code data} holds its bytes in {@code type}. */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, MemorySegment data) {
        long elements = 1;
        for (long d : dims) {
            elements = Math.multiplyExact(elements, d);
        }
        if (data.byteSize() != type.bytesFor(elements)) {
            throw new IllegalArgumentException("tensor " + name + ": " + data.byteSize() + " bytes for " + elements
                    + " " + type + " values, expected " + type.bytesFor(elements));
        }
        tensors.add(new Tensor(name, type, dims.clone(), data));
        return this;
    }

    public void write(Path target) throws IOException {
        Path tmp = AtomicFiles.partialFile(target);
        try {
            try (OutputStream raw = Files.newOutputStream(tmp);
                    CountingOutput out = new CountingOutput(new BufferedOutputStream(raw, 1 << 20))) {
                out.i32(GgufFile.MAGIC);
                out.i32(3);
                out.i64(tensors.size());
                GgufKv alignment = GgufKv.of("general.alignment", GgufValueType.UINT32, (long) ALIGNMENT);
                Map<String, GgufKv> all = new LinkedHashMap<>();
                all.put(alignment.key(), alignment);
                metadata.forEach(all::putIfAbsent);
                out.i64(all.size());
                for (GgufKv kv : all.values()) {
                    writeKv(out, kv);
                }
                long offset = 0;
                for (Tensor t : tensors) {
                    out.string(t.name());
                    out.i32(t.dims().length);
                    for (long d : t.dims()) {
                        out.i64(d);
                    }
                    out.i32(t.type().id);
                    out.i64(offset);
                    offset = GgufFile.align(offset + t.data().byteSize(), ALIGNMENT);
                }
                out.pad(ALIGNMENT);
                for (Tensor t : tensors) {
                    out.segment(t.data());
                    out.pad(ALIGNMENT);
                }
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void writeKv(CountingOutput out, GgufKv kv) throws IOException {
        out.string(kv.key());
        out.i32(kv.type().id);
        if (kv.type() == GgufValueType.ARRAY) {
            out.i32(kv.elementType().id);
            writeArray(out, kv.elementType(), kv.value());
        } else {
            writeScalar(out, kv.type(), kv.value());
        }
    }

    private static void writeArray(CountingOutput out, GgufValueType elem, Object values) throws IOException {
        switch (values) {
            case int[] a -> {
                out.i64(a.length);
                for (int v : a) {
                    writeScalar(out, elem, v);
                }
            }
            case long[] a -> {
                out.i64(a.length);
                for (long v : a) {
                    writeScalar(out, elem, v);
                }
            }
            case float[] a -> {
                out.i64(a.length);
                for (float v : a) {
                    writeScalar(out, elem, v);
                }
            }
            case double[] a -> {
                out.i64(a.length);
                for (double v : a) {
                    writeScalar(out, elem, v);
                }
            }
            case boolean[] a -> {
                out.i64(a.length);
                for (boolean v : a) {
                    writeScalar(out, elem, v);
                }
            }
            case String[] a -> {
                out.i64(a.length);
                for (String v : a) {
                    out.string(v);
                }
            }
            case GgufKv[] a -> {
                out.i64(a.length);
                for (GgufKv inner : a) {
                    out.i32(inner.elementType().id);
                    writeArray(out, inner.elementType(), inner.value());
                }
            }
            default ->
                throw new IllegalArgumentException(
                        "cannot write " + values.getClass().getSimpleName() + " as a GGUF array");
        }
    }

    private static void writeScalar(CountingOutput out, GgufValueType type, Object value) throws IOException {
        switch (type) {
            case UINT8, INT8, BOOL -> out.u8(value instanceof Boolean b ? (b ? 1 : 0) : ((Number) value).intValue());
            case UINT16, INT16 -> out.i16(((Number) value).intValue());
            case UINT32, INT32 -> out.i32(((Number) value).intValue());
            case FLOAT32 -> out.i32(Float.floatToRawIntBits(((Number) value).floatValue()));
            case UINT64, INT64 -> out.i64(((Number) value).longValue());
            case FLOAT64 -> out.i64(Double.doubleToRawLongBits(((Number) value).doubleValue()));
            case STRING -> out.string((String) value);
            case ARRAY -> throw new IllegalArgumentException("nested arrays are not written");
        }
    }

    /** Little-endian output that knows its offset, for alignment. */
    private static final class CountingOutput implements AutoCloseable {
        private final OutputStream out;
        private final ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        private long written;

        CountingOutput(OutputStream out) {
            this.out = out;
        }

        void u8(int v) throws IOException {
            out.write(v);
            written++;
        }

        void i16(int v) throws IOException {
            buf.clear();
            buf.putShort((short) v);
            flushBuf();
        }

        void i32(int v) throws IOException {
            buf.clear();
            buf.putInt(v);
            flushBuf();
        }

        void i64(long v) throws IOException {
            buf.clear();
            buf.putLong(v);
            flushBuf();
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            out.write(b);
            written += b.length;
        }

        void segment(MemorySegment seg) throws IOException {
            byte[] chunk = new byte[1 << 16];
            for (long at = 0; at < seg.byteSize(); at += chunk.length) {
                int n = (int) Math.min(chunk.length, seg.byteSize() - at);
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, at, chunk, 0, n);
                out.write(chunk, 0, n);
                written += n;
            }
        }

        void pad(int alignment) throws IOException {
            while (written % alignment != 0) {
                u8(0);
            }
        }

        private void flushBuf() throws IOException {
            out.write(buf.array(), 0, buf.position());
            written += buf.position();
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }
}
