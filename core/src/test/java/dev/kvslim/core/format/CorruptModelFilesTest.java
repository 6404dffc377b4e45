package dev.kvslim.core.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufKv;
import dev.kvslim.core.format.gguf.GgufModels;
import dev.kvslim.core.format.gguf.GgufTensorInfo;
import dev.kvslim.core.format.gguf.GgufWriter;
import dev.kvslim.core.format.llama2c.Llama2cCheckpoint;
import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.testing.Fixtures;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Broken model files must give a {@link ModelFormatException} that names the file and the fault, never another
 * exception, a crash or a hang. Truncation is tested at every offset of the headers and metadata and at
 * spread-out offsets of the weights; random byte corruption must either load or fail cleanly.
 */
class CorruptModelFilesTest {

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    private static MemorySegment copy(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        MemorySegment seg = Arena.ofAuto().allocate(bytes.length);
        MemorySegment.copy(bytes, 0, seg, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return seg;
    }

    private static void loadGguf(Path name, MemorySegment data) {
        GgufModels.load(GgufFile.read(name, data));
    }

    private static void assertFailsCleanly(Path name, MemorySegment data, Consumer<MemorySegment> load, String what) {
        Throwable t = catchThrowable(() -> load.accept(data));
        assertThat(t).as(what).isInstanceOf(ModelFormatException.class);
        assertThat(t.getMessage()).as(what).startsWith(name.toString());
    }

    @Test
    void ggufTruncatedAnywhereFailsCleanly() throws IOException {
        Path path = Fixtures.path("stories260K/derived/stories260K.gguf");
        MemorySegment data = copy(path);
        GgufFile whole = GgufFile.read(path, data);
        long dataStart = whole.tensors().values().stream()
                .mapToLong(GgufTensorInfo::offset)
                .min()
                .orElseThrow();
        long headerEnd = 0;
        // the metadata and tensor directory: every single offset
        for (long n = 0; n < data.byteSize(); n = n < 20000 ? n + 1 : n + 4099) {
            long cut = n;
            assertFailsCleanly(path, data.asSlice(0, cut), d -> loadGguf(path, d), "GGUF cut at " + cut);
            headerEnd = cut;
        }
        assertThat(headerEnd).isGreaterThan(dataStart);
    }

    @Test
    void llama2cTruncatedAnywhereFailsCleanly() throws IOException {
        Path path = Fixtures.path("stories260K/stories260K.bin");
        MemorySegment data = copy(path);
        for (long n = 0; n < data.byteSize(); n = n < 600 ? n + 1 : n + 1201) {
            long cut = n;
            assertFailsCleanly(
                    path, data.asSlice(0, cut), d -> Llama2cCheckpoint.load(path, d), "checkpoint cut at " + cut);
        }
        MemorySegment longer = Arena.ofAuto().allocate(data.byteSize() + 4);
        MemorySegment.copy(data, 0, longer, 0, data.byteSize());
        assertThatThrownBy(() -> Llama2cCheckpoint.load(path, longer))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("after the last tensor");
    }

    @Test
    void llama2cBadHeadersAreNamed() throws IOException {
        Path path = Fixtures.path("stories260K/stories260K.bin");
        MemorySegment data = copy(path);
        data.set(I32, 0, 65); // dim not a multiple of 8 heads
        assertThatThrownBy(() -> Llama2cCheckpoint.load(path, data))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("dim=65");
        data.set(I32, 0, 64);
        data.set(I32, 16, 3); // 8 heads cannot share 3 KV heads
        assertThatThrownBy(() -> Llama2cCheckpoint.load(path, data))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("KV heads (3)");
        data.set(I32, 16, 4);
        data.set(I32, 8, 1 << 30); // a billion layers: far more weights than the file holds
        assertThatThrownBy(() -> Llama2cCheckpoint.load(path, data))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("truncated");
    }

    @Test
    void ggufFaultsAreNamed() throws IOException {
        Path path = Fixtures.path("stories260K/derived/stories260K.gguf");
        MemorySegment data = copy(path);
        MemorySegment badMagic = copy(path);
        badMagic.set(ValueLayout.JAVA_BYTE, 0, (byte) 'X');
        assertThatThrownBy(() -> GgufFile.read(path, badMagic)).hasMessageContaining("bad magic");
        MemorySegment badVersion = copy(path);
        badVersion.set(I32, 4, 7);
        assertThatThrownBy(() -> GgufFile.read(path, badVersion)).hasMessageContaining("version 7");
        MemorySegment hugeCount = copy(path);
        hugeCount.set(I64, 16, Long.MAX_VALUE / 2);
        assertThatThrownBy(() -> GgufFile.read(path, hugeCount)).hasMessageContaining("metadata count");
        // first key's length: claims more bytes than the file has
        MemorySegment hugeKey = copy(path);
        hugeKey.set(I64, 24, 1L << 40);
        assertThatThrownBy(() -> GgufFile.read(path, hugeKey))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("truncated");
        assertThat(GgufFile.read(path, data).tensors()).isNotEmpty();
    }

    /** Writes a copy of stories260K whose tensor {@code victim} gets {@code dims}, {@code typeId} or offset. */
    private Path rewrite(String victim, long[] dims, boolean halveData) throws IOException {
        GgufFile src = GgufFile.read(Fixtures.path("stories260K/derived/stories260K.gguf"));
        GgufWriter w = new GgufWriter();
        for (GgufKv kv : src.metadata().values()) {
            w.put(kv);
        }
        for (GgufTensorInfo t : src.tensors().values()) {
            MemorySegment bytes = src.tensorData(t);
            if (t.name().equals(victim)) {
                w.addTensor(t.name(), src.type(t), dims, halveData ? bytes.asSlice(0, bytes.byteSize() / 2) : bytes);
            } else {
                w.addTensor(t.name(), src.type(t), t.dims(), bytes);
            }
        }
        Path out = dir.resolve("edited.gguf");
        w.write(out);
        return out;
    }

    @Test
    void aLayerCountTheTensorsCannotHoldIsNamedNotAllocated(@TempDir Path tmp) throws IOException {
        // before: OutOfMemoryError sizing per-layer arrays by block_count / num_hidden_layers
        GgufFile source = GgufFile.read(Fixtures.path("stories260K/derived/stories260K.gguf"));
        GgufWriter w = new GgufWriter();
        for (GgufKv kv : source.metadata().values()) {
            w.put(kv);
        }
        w.putUInt32("llama.block_count", 0x7fffffffL);
        for (GgufTensorInfo t : source.tensors().values()) {
            w.addTensor(t.name(), source.type(t), t.dims(), source.tensorData(t));
        }
        Path gguf = tmp.resolve("many-layers.gguf");
        w.write(gguf);
        assertThatThrownBy(() -> GgufModels.load(GgufFile.read(gguf)))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("many-layers.gguf")
                .hasMessageContaining("block_count is 2147483647");

        Path folder = Files.createDirectory(tmp.resolve("many-layers"));
        Path parity = dev.kvslim.core.testing.ParityFolders.path("llama-f32");
        Files.copy(parity.resolve("model.safetensors"), folder.resolve("model.safetensors"));
        Files.writeString(
                folder.resolve("config.json"),
                Files.readString(parity.resolve("config.json"))
                        .replaceAll("\"num_hidden_layers\"\\s*:\\s*\\d+", "\"num_hidden_layers\": 2147483647"));
        assertThat(Files.readString(folder.resolve("config.json"))).contains("2147483647");
        assertThatThrownBy(() -> dev.kvslim.core.format.hf.HuggingFaceModels.load(folder))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("num_hidden_layers is 2147483647");
    }

    @Test
    void wrongShapeIsNamed() throws IOException {
        Path edited = rewrite("blk.0.attn_q.weight", new long[] {64, 32}, true);
        assertThatThrownBy(() -> GgufModels.load(GgufFile.read(edited)))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("layer 0 wq")
                .hasMessageContaining("[32 x 64]")
                .hasMessageContaining(edited.toString());
    }

    @Test
    void missingTensorAndUnknownTypeAreNamed() throws IOException {
        Path edited = rewrite("blk.0.attn_q.weight", new long[] {64, 64}, false);
        MemorySegment data = copy(edited);
        GgufFile f = GgufFile.read(edited, data);
        // rename the tensor in place: change its first letter
        long at = findAscii(data, "blk.0.attn_q.weight");
        data.set(ValueLayout.JAVA_BYTE, at, (byte) 'X');
        assertThatThrownBy(() -> GgufModels.load(GgufFile.read(edited, data)))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("missing tensor 'blk.0.attn_q.weight'");
        data.set(ValueLayout.JAVA_BYTE, at, (byte) 'b');
        long typeAt = at + "blk.0.attn_q.weight".length() + 4 + 2 * 8;
        assertThat(data.get(I32, typeAt)).isZero();
        data.set(I32, typeAt, 16); // IQ2_XXS: a real GGML type we do not compute with
        assertThatThrownBy(() -> GgufModels.load(GgufFile.read(edited, data)))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("unsupported GGML tensor type id 16");
        data.set(I32, typeAt, 0);
        data.set(I64, typeAt + 4, 1L << 32); // offset far past the end
        assertThatThrownBy(() -> GgufFile.read(edited, data))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("extends past the end of the file");
        assertThat(f.tensors()).containsKey("blk.0.attn_q.weight");
    }

    private static long findAscii(MemorySegment data, String s) {
        byte[] needle = s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        outer:
        for (long i = 0; i + needle.length <= data.byteSize(); i++) {
            for (int j = 0; j < needle.length; j++) {
                if (data.get(ValueLayout.JAVA_BYTE, i + j) != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError(s + " not found");
    }

    @Test
    void randomCorruptionLoadsOrFailsCleanly() throws IOException {
        Path gguf = Fixtures.path("stories260K/derived/stories260K.gguf");
        Path bin = Fixtures.path("stories260K/stories260K.bin");
        MemorySegment ggufData = copy(gguf);
        MemorySegment binData = copy(bin);
        SplittableRandom rnd = new SplittableRandom(2026);
        for (int trial = 0; trial < 300; trial++) {
            boolean isGguf = trial % 2 == 0;
            MemorySegment original = isGguf ? ggufData : binData;
            MemorySegment data = Arena.ofAuto().allocate(original.byteSize());
            MemorySegment.copy(original, 0, data, 0, original.byteSize());
            long span = isGguf ? 20000 : 64;
            for (int flips = 1 + rnd.nextInt(4); flips > 0; flips--) {
                data.set(ValueLayout.JAVA_BYTE, rnd.nextLong(span), (byte) rnd.nextInt(256));
            }
            Path name = isGguf ? gguf : bin;
            Throwable t = catchThrowable(() -> {
                if (isGguf) {
                    loadGguf(name, data);
                } else {
                    Llama2cCheckpoint.load(name, data);
                }
            });
            if (t != null) {
                assertThat(t).as("trial %d", trial).isInstanceOf(ModelFormatException.class);
            }
        }
    }
}
