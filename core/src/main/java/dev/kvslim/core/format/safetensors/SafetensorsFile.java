package dev.kvslim.core.format.safetensors;

import dev.kvslim.core.io.ByteReader;
import dev.kvslim.core.io.MappedFile;
import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.Tensors;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A safetensors file: an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape
 * and byte range, then the raw little-endian data, mapped in place. Every range is checked against the file
 * and against its dtype and shape before use; ranges may not overlap.
 */
public final class SafetensorsFile {

    /** Where one tensor lies, relative to the start of the data section. */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final long MAX_HEADER = 100L << 20;

    private final Path path;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;
    private final MemorySegment data;

    private SafetensorsFile(Path path, Map<String, Entry> entries, Map<String, String> metadata, MemorySegment data) {
        this.path = path;
        this.entries = entries;
        this.metadata = metadata;
        this.data = data;
    }

    public static SafetensorsFile read(Path path) {
        return read(path, MappedFile.map(path));
    }

    public static SafetensorsFile read(Path path, MemorySegment file) {
        ByteReader in = new ByteReader(path, file);
        long headerLength = in.i64("safetensors header length");
        if (headerLength < 2 || headerLength > MAX_HEADER || headerLength > in.remaining()) {
            throw in.fail("header length " + Long.toUnsignedString(headerLength) + " does not fit the file ("
                    + file.byteSize() + " bytes): truncated or not a safetensors file");
        }
        String text = in.utf8(headerLength, "safetensors header");
        JsonNode header;
        try {
            header = JSON.readTree(text);
        } catch (JacksonException e) {
            throw in.fail("header is not valid JSON: " + e.getOriginalMessage());
        }
        if (header == null || !header.isObject()) {
            throw in.fail("header is not a JSON object");
        }
        MemorySegment data = file.asSlice(8 + headerLength);
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : header.properties()) {
            String name = field.getKey();
            JsonNode node = field.getValue();
            if (name.equals("__metadata__")) {
                if (node.isObject()) {
                    node.properties()
                            .forEach(e -> metadata.put(e.getKey(), e.getValue().asString()));
                }
                continue;
            }
            entries.put(name, entry(in, name, node, data.byteSize()));
        }
        checkOverlaps(in, entries);
        return new SafetensorsFile(
                path, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata), data);
    }

    private static Entry entry(ByteReader in, String name, JsonNode node, long dataBytes) {
        JsonNode dtype = node.get("dtype"), shape = node.get("shape"), offsets = node.get("data_offsets");
        if (dtype == null
                || !dtype.isString()
                || shape == null
                || !shape.isArray()
                || offsets == null
                || !offsets.isArray()
                || offsets.size() != 2) {
            throw in.fail("tensor '" + name + "' lacks a dtype, shape or data_offsets pair");
        }
        long[] dims = new long[shape.size()];
        for (int i = 0; i < dims.length; i++) {
            JsonNode d = shape.get(i);
            if (!d.canConvertToLong() || d.asLong() < 0) {
                throw in.fail("tensor '" + name + "' has dimension " + d);
            }
            dims[i] = d.asLong();
        }
        if (!offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
            throw in.fail("tensor '" + name + "' has non-integer data_offsets");
        }
        long begin = offsets.get(0).asLong(), end = offsets.get(1).asLong();
        if (begin < 0 || end < begin || end > dataBytes) {
            throw in.fail("tensor '" + name + "' bytes [" + begin + ", " + end + ") fall outside the data section ("
                    + dataBytes + " bytes): truncated or corrupt");
        }
        Entry e = new Entry(name, dtype.asString(), dims, begin, end);
        long elements;
        try {
            elements = e.elements();
        } catch (ArithmeticException ex) {
            throw in.fail("tensor '" + name + "' shape overflows");
        }
        int size = dtypeBytes(e.dtype());
        if (size > 0 && elements > (end - begin) / size || size > 0 && elements * size != end - begin) {
            throw in.fail("tensor '" + name + "' (" + e.dtype() + ", " + elements + " values) needs "
                    + (size * elements) + " bytes but its data_offsets hold " + (end - begin));
        }
        return e;
    }

    private static void checkOverlaps(ByteReader in, Map<String, Entry> entries) {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).begin() < sorted.get(i - 1).end()) {
                throw in.fail("tensors '" + sorted.get(i - 1).name() + "' and '"
                        + sorted.get(i).name() + "' overlap");
            }
        }
    }

    /** Bytes per value of a safetensors dtype, or 0 for one KVSlim does not compute with. */
    static int dtypeBytes(String dtype) {
        return switch (dtype) {
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default -> 0;
        };
    }

    public Path path() {
        return path;
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** The raw bytes of a tensor. */
    public MemorySegment bytes(Entry e) {
        return data.asSlice(e.begin(), e.end() - e.begin());
    }

    /** Tensor {@code name} as a matrix of its last dimension's length per row (a vector is one row). */
    public FloatTensor tensor(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new ModelFormatException(path, "missing tensor '" + name + "'");
        }
        GgmlType type = switch (e.dtype()) {
            case "F32" -> GgmlType.F32;
            case "F16" -> GgmlType.F16;
            case "BF16" -> GgmlType.BF16;
            default ->
                throw new ModelFormatException(
                        path, "tensor '" + name + "' has dtype " + e.dtype() + " (supported: F32, F16, BF16)");
        };
        long elements = e.elements();
        if (elements == 0) {
            throw new ModelFormatException(path, "tensor '" + name + "' is empty");
        }
        long cols = e.shape().length == 0 ? 1 : e.shape()[e.shape().length - 1];
        if (cols > Integer.MAX_VALUE) {
            throw new ModelFormatException(path, "tensor '" + name + "' rows of " + cols + " values are too long");
        }
        return Tensors.of(type, bytes(e), elements / cols, (int) cols);
    }
}
