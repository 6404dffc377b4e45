package dev.kvslim.core.format.gguf;

import dev.kvslim.core.io.ByteReader;
import dev.kvslim.core.io.MappedFile;
import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.Tensors;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A parsed GGUF (v2 or v3) file: its metadata, its tensor directory, and its tensor data mapped in place.
 * Every length, count and offset in the file is checked against the file's size before it is used.
 */
public final class GgufFile {

    public static final int MAGIC = 0x46554747; // "GGUF" little-endian
    private static final int MAX_DIMS = 4;

    private final Path path;
    private final int version;
    private final Map<String, GgufKv> metadata;
    private final Map<String, GgufTensorInfo> tensors;
    private final long dataOffset;
    private final int alignment;
    private final MemorySegment file;

    private GgufFile(
            Path path,
            int version,
            Map<String, GgufKv> metadata,
            Map<String, GgufTensorInfo> tensors,
            long dataOffset,
            int alignment,
            MemorySegment file) {
        this.path = path;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.dataOffset = dataOffset;
        this.alignment = alignment;
        this.file = file;
    }

    public static boolean hasMagic(MemorySegment data) {
        return ByteReader.startsWith(data, MAGIC);
    }

    public static GgufFile read(Path path) {
        return read(path, MappedFile.map(path));
    }

    public static GgufFile read(Path path, MemorySegment data) {
        ByteReader in = new ByteReader(path, data);
        if (in.i32("GGUF magic") != MAGIC) {
            throw in.fail("not a GGUF file (bad magic)");
        }
        int version = in.i32("GGUF version");
        if (version != 2 && version != 3) {
            throw in.fail("unsupported GGUF version " + version + " (supported: 2, 3)");
        }
        long tensorCount = in.i64("tensor count");
        long kvCount = in.i64("metadata count");
        // each entry takes at least 8 bytes of key length and 4 of type; each tensor at least 8+4+4+8
        if (kvCount < 0 || kvCount > in.remaining() / 12) {
            throw in.fail("metadata count " + kvCount + " cannot fit in the file");
        }
        if (tensorCount < 0 || tensorCount > in.remaining() / 24) {
            throw in.fail("tensor count " + tensorCount + " cannot fit in the file");
        }
        Map<String, GgufKv> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = string(in, "metadata key " + i);
            int typeId = in.i32("type of metadata '" + key + "'");
            GgufValueType type = GgufValueType.fromId(typeId);
            if (type == null) {
                throw in.fail("metadata '" + key + "' has unknown value type " + typeId);
            }
            GgufKv kv;
            if (type == GgufValueType.ARRAY) {
                int elemId = in.i32("element type of '" + key + "'");
                GgufValueType elem = GgufValueType.fromId(elemId);
                if (elem == null) {
                    throw in.fail("metadata array '" + key + "' has unknown element type " + elemId);
                }
                kv = GgufKv.array(key, elem, array(in, elem, key, 0));
            } else {
                kv = GgufKv.of(key, type, scalar(in, type, key));
            }
            if (metadata.put(key, kv) != null) {
                throw in.fail("metadata key '" + key + "' appears twice");
            }
        }
        int alignment = 32;
        GgufKv align = metadata.get("general.alignment");
        if (align != null) {
            if (!(align.value() instanceof Number a)
                    || a.longValue() <= 0
                    || a.longValue() > (1 << 20)
                    || Long.bitCount(a.longValue()) != 1) {
                throw in.fail("general.alignment must be a power of two, got " + align.value());
            }
            alignment = a.intValue();
        }
        Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = string(in, "name of tensor " + i);
            int nDims = in.i32("dimension count of tensor '" + name + "'");
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw in.fail("tensor '" + name + "' has " + nDims + " dimensions (1 to " + MAX_DIMS + " allowed)");
            }
            long[] dims = new long[nDims];
            for (int d = 0; d < nDims; d++) {
                dims[d] = in.i64("dimension " + d + " of tensor '" + name + "'");
                if (dims[d] <= 0 || dims[d] > (1L << 40)) {
                    throw in.fail("tensor '" + name + "' has dimension " + d + " = " + Long.toUnsignedString(dims[d]));
                }
            }
            int typeId = in.i32("type of tensor '" + name + "'");
            long offset = in.i64("data offset of tensor '" + name + "'");
            GgufTensorInfo info = new GgufTensorInfo(name, dims, typeId, offset);
            try {
                info.elements();
            } catch (ArithmeticException e) {
                throw in.fail("tensor '" + name + "' shape " + info.shape() + " overflows");
            }
            if (tensors.put(name, info) != null) {
                throw in.fail("tensor '" + name + "' appears twice");
            }
        }
        long dataOffset = align(in.position(), alignment);
        if (tensorCount > 0 && dataOffset > data.byteSize()) {
            throw in.fail("truncated: tensor data would start at offset " + dataOffset + ", past the end of the file ("
                    + data.byteSize() + " bytes)");
        }
        long dataBytes = data.byteSize() - Math.min(dataOffset, data.byteSize());
        for (GgufTensorInfo t : tensors.values()) {
            if (t.offset() < 0 || t.offset() % alignment != 0) {
                throw in.fail("tensor '" + t.name() + "' offset " + t.offset() + " is not aligned to " + alignment);
            }
            GgmlType type = GgmlType.byId(t.typeId());
            if (type != null) {
                long bytes;
                try {
                    if (t.dims()[0] % type.blockSize != 0) {
                        throw in.fail("tensor '" + t.name() + "' of type " + type + " has a row of " + t.dims()[0]
                                + " values, not a multiple of its block size " + type.blockSize);
                    }
                    bytes = type.bytesFor(t.elements());
                } catch (ArithmeticException e) {
                    throw in.fail("tensor '" + t.name() + "' is too large");
                }
                if (t.offset() > dataBytes || bytes > dataBytes - t.offset()) {
                    throw in.fail("tensor '" + t.name() + "' (" + type + " " + t.shape() + ", " + bytes
                            + " bytes at data offset " + t.offset() + ") extends past the end of the file"
                            + " (data section holds " + dataBytes + " bytes): truncated or corrupt");
                }
            }
        }
        return new GgufFile(
                path,
                version,
                Collections.unmodifiableMap(metadata),
                Collections.unmodifiableMap(tensors),
                dataOffset,
                alignment,
                data);
    }

    static long align(long offset, int alignment) {
        return (offset + alignment - 1) / alignment * alignment;
    }

    private static String string(ByteReader in, String what) {
        long len = in.i64("length of " + what);
        if (len < 0 || len > in.remaining()) {
            throw in.fail("truncated: " + what + " claims " + Long.toUnsignedString(len) + " bytes at offset "
                    + (in.position() - 8) + ", only " + in.remaining() + " left");
        }
        return in.utf8(len, what);
    }

    private static Object scalar(ByteReader in, GgufValueType type, String key) {
        String what = "value of '" + key + "'";
        return switch (type) {
            case UINT8 -> in.u8(what);
            case INT8 -> (int) (byte) in.u8(what);
            case UINT16 -> in.i16(what) & 0xFFFF;
            case INT16 -> (int) in.i16(what);
            case UINT32 -> in.i32(what) & 0xFFFFFFFFL;
            case INT32 -> in.i32(what);
            case FLOAT32 -> in.f32(what);
            case BOOL -> {
                int b = in.u8(what);
                if (b > 1) {
                    throw in.fail("boolean " + what + " is " + b);
                }
                yield b == 1;
            }
            case STRING -> string(in, what);
            case UINT64, INT64 -> in.i64(what);
            case FLOAT64 -> in.f64(what);
            case ARRAY -> throw new IllegalStateException("arrays are read by array()");
        };
    }

    private static Object array(ByteReader in, GgufValueType elem, String key, int depth) {
        if (depth > 4) {
            throw in.fail("metadata '" + key + "' nests arrays too deeply");
        }
        long count = in.i64("length of array '" + key + "'");
        if (count < 0 || count > in.remaining() / elem.minBytes || count > Integer.MAX_VALUE - 8) {
            throw in.fail("truncated: array '" + key + "' claims " + Long.toUnsignedString(count) + " " + elem
                    + " elements, more than the " + in.remaining() + " bytes left can hold");
        }
        int n = (int) count;
        String what = "element of '" + key + "'";
        switch (elem) {
            case UINT8, INT8, UINT16, INT16, INT32 -> {
                int[] out = new int[n];
                for (int i = 0; i < n; i++) {
                    out[i] = ((Number) scalar(in, elem, key)).intValue();
                }
                return out;
            }
            case UINT32, UINT64, INT64 -> {
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = ((Number) scalar(in, elem, key)).longValue();
                }
                return out;
            }
            case FLOAT32 -> {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = in.f32(what);
                }
                return out;
            }
            case FLOAT64 -> {
                double[] out = new double[n];
                for (int i = 0; i < n; i++) {
                    out[i] = in.f64(what);
                }
                return out;
            }
            case BOOL -> {
                boolean[] out = new boolean[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (Boolean) scalar(in, elem, key);
                }
                return out;
            }
            case STRING -> {
                String[] out = new String[n];
                for (int i = 0; i < n; i++) {
                    out[i] = string(in, what);
                }
                return out;
            }
            case ARRAY -> {
                GgufKv[] out = new GgufKv[n];
                for (int i = 0; i < n; i++) {
                    int innerId = in.i32("element type of nested array in '" + key + "'");
                    GgufValueType inner = GgufValueType.fromId(innerId);
                    if (inner == null) {
                        throw in.fail("nested array in '" + key + "' has unknown element type " + innerId);
                    }
                    out[i] = GgufKv.array(key, inner, array(in, inner, key, depth + 1));
                }
                return out;
            }
            default -> throw new IllegalStateException();
        }
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public int alignment() {
        return alignment;
    }

    public Map<String, GgufKv> metadata() {
        return metadata;
    }

    public Map<String, GgufTensorInfo> tensors() {
        return tensors;
    }

    public ModelFormatException fail(String message) {
        return new ModelFormatException(path, message);
    }

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    public Object value(String key) {
        GgufKv kv = metadata.get(key);
        return kv == null ? null : kv.value();
    }

    public String getString(String key, String fallback) {
        Object v = value(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof String s) {
            return s;
        }
        throw fail("metadata '" + key + "' should be a string, is "
                + metadata.get(key).type());
    }

    public String requireString(String key) {
        String s = getString(key, null);
        if (s == null) {
            throw fail("missing metadata '" + key + "'");
        }
        return s;
    }

    public long getLong(String key, long fallback) {
        Object v = value(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof Number n && !(v instanceof Float) && !(v instanceof Double)) {
            return n.longValue();
        }
        throw fail("metadata '" + key + "' should be an integer, is "
                + metadata.get(key).type());
    }

    public int getInt(String key, int fallback) {
        long v = getLong(key, fallback);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw fail("metadata '" + key + "' = " + v + " is out of range");
        }
        return (int) v;
    }

    public int requireInt(String key) {
        if (!has(key)) {
            throw fail("missing metadata '" + key + "'");
        }
        return getInt(key, 0);
    }

    public float getFloat(String key, float fallback) {
        Object v = value(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof Number n) {
            return n.floatValue();
        }
        throw fail("metadata '" + key + "' should be a number, is "
                + metadata.get(key).type());
    }

    public boolean getBool(String key, boolean fallback) {
        Object v = value(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        throw fail("metadata '" + key + "' should be a boolean, is "
                + metadata.get(key).type());
    }

    public String[] getStrings(String key) {
        Object v = value(key);
        if (v == null || v instanceof String[]) {
            return (String[]) v;
        }
        throw fail("metadata '" + key + "' should be an array of strings");
    }

    public float[] getFloats(String key) {
        Object v = value(key);
        if (v == null || v instanceof float[]) {
            return (float[]) v;
        }
        throw fail("metadata '" + key + "' should be an array of float32");
    }

    public int[] getInts(String key) {
        Object v = value(key);
        if (v == null || v instanceof int[]) {
            return (int[]) v;
        }
        if (v instanceof long[] l) {
            int[] out = new int[l.length];
            for (int i = 0; i < l.length; i++) {
                if (l[i] < Integer.MIN_VALUE || l[i] > Integer.MAX_VALUE) {
                    throw fail("metadata '" + key + "' element " + i + " = " + l[i] + " is out of range");
                }
                out[i] = (int) l[i];
            }
            return out;
        }
        throw fail("metadata '" + key + "' should be an array of integers");
    }

    /** The raw bytes of a tensor (checked to lie inside the file when the file was read). */
    public MemorySegment tensorData(GgufTensorInfo t) {
        GgmlType type = type(t);
        return file.asSlice(dataOffset + t.offset(), type.bytesFor(t.elements()));
    }

    public GgmlType type(GgufTensorInfo t) {
        try {
            return GgmlType.fromId(t.typeId());
        } catch (IllegalArgumentException e) {
            throw fail("tensor '" + t.name() + "': " + e.getMessage());
        }
    }

    /** Tensor {@code name} as a matrix of {@code dims[1..]} rows of {@code dims[0]} values. */
    public FloatTensor tensor(String name) {
        GgufTensorInfo t = tensors.get(name);
        if (t == null) {
            throw fail("missing tensor '" + name + "'");
        }
        long cols = t.dims()[0];
        if (cols > Integer.MAX_VALUE) {
            throw fail("tensor '" + name + "' rows of " + cols + " values are too long");
        }
        return Tensors.of(type(t), tensorData(t), t.elements() / cols, (int) cols);
    }
}
