package dev.kvslim.core.format.safetensors;

import dev.kvslim.core.io.AtomicFiles;
import dev.kvslim.core.tensor.GgmlType;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes a safetensors file: header length, JSON header padded to 8 bytes, then each tensor's bytes in order.
 * Written to a temporary sibling and renamed into place.
 */
public final class SafetensorsWriter {

    private record Tensor(String name, String dtype, long[] shape, MemorySegment data) {}

    private final List<Tensor> tensors = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** Adds a tensor of {@code type} (F32, F16 or BF16) with PyTorch's shape (last dimension contiguous). */
    public SafetensorsWriter add(String name, GgmlType type, long[] shape, MemorySegment data) {
        String dtype = switch (type) {
            case F32 -> "F32";
            case F16 -> "F16";
            case BF16 -> "BF16";
            default ->
                throw new IllegalArgumentException("safetensors has no " + type + " dtype: expand " + name + " first");
        };
        long elements = 1;
        for (long d : shape) {
            elements = Math.multiplyExact(elements, d);
        }
        if (data.byteSize() != type.bytesFor(elements)) {
            throw new IllegalArgumentException(
                    name + ": " + data.byteSize() + " bytes for " + elements + " " + type + " values");
        }
        tensors.add(new Tensor(name, dtype, shape.clone(), data));
        return this;
    }

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public void write(Path target) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        long offset = 0;
        for (Tensor t : tensors) {
            long end = offset + t.data().byteSize();
            header.put(
                    t.name(), Map.of("dtype", t.dtype(), "shape", t.shape(), "data_offsets", new long[] {offset, end}));
            offset = end;
        }
        if (!metadata.isEmpty()) {
            header.put("__metadata__", metadata);
        }
        byte[] json = JsonMapper.builder().build().writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        Path tmp = AtomicFiles.partialFile(target);
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                out.write(ByteBuffer.allocate(8)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(padded)
                        .array());
                out.write(json);
                for (int i = json.length; i < padded; i++) {
                    out.write(' ');
                }
                byte[] chunk = new byte[1 << 16];
                for (Tensor t : tensors) {
                    MemorySegment seg = t.data();
                    for (long at = 0; at < seg.byteSize(); at += chunk.length) {
                        int n = (int) Math.min(chunk.length, seg.byteSize() - at);
                        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, at, chunk, 0, n);
                        out.write(chunk, 0, n);
                    }
                }
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
