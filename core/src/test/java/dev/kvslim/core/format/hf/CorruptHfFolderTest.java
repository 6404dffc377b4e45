package dev.kvslim.core.format.hf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.kvslim.core.format.safetensors.SafetensorsFile;
import dev.kvslim.core.io.ModelFormatException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Broken Hugging Face folders and safetensors files give a ModelFormatException naming the file and the fault. */
class CorruptHfFolderTest {

    @TempDir
    Path dir;

    /** A copy of a parity fixture folder that the test may break. */
    private Path copy(String name) throws IOException {
        Path src = HfParityTest.folder(name);
        Path dst = dir.resolve(name);
        Files.createDirectories(dst);
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.toList()) {
                Files.copy(f, dst.resolve(f.getFileName()));
            }
        }
        return dst;
    }

    private static MemorySegment bytes(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        MemorySegment seg = Arena.ofAuto().allocate(Math.max(1, b.length));
        MemorySegment.copy(b, 0, seg, ValueLayout.JAVA_BYTE, 0, b.length);
        return seg.asSlice(0, b.length);
    }

    @Test
    void safetensorsTruncatedAnywhereFailsCleanly() throws IOException {
        Path file = HfParityTest.folder("llama-f32").resolve("model.safetensors");
        MemorySegment data = bytes(file);
        for (long cut = 0; cut < data.byteSize(); cut = cut < 4000 ? cut + 1 : cut + 997) {
            MemorySegment part = data.asSlice(0, cut);
            long at = cut;
            Throwable t = catchThrowable(() -> {
                SafetensorsFile f = SafetensorsFile.read(file, part);
                f.entries().keySet().forEach(f::tensor);
            });
            assertThat(t).as("cut at %d", at).isInstanceOf(ModelFormatException.class);
            assertThat(t.getMessage()).startsWith(file.toString());
        }
    }

    @Test
    void headerThatLiesAboutOffsetsIsNamed() throws IOException {
        Path file = HfParityTest.folder("llama-f32").resolve("model.safetensors");
        MemorySegment data = bytes(file);
        long headerLength = data.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
        String header =
                new String(data.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        // the first tensor's end moved past the data section, the header's length kept
        Matcher first = Pattern.compile("\"data_offsets\":\\[0,(\\d+)\\]").matcher(header);
        assertThat(first.find()).isTrue();
        String lying = header.substring(0, first.start(1))
                + "9".repeat(first.group(1).length())
                + header.substring(first.end(1));
        MemorySegment broken = Arena.ofAuto().allocate(data.byteSize());
        MemorySegment.copy(data, 0, broken, 0, data.byteSize());
        MemorySegment.copy(lying.getBytes(StandardCharsets.UTF_8), 0, broken, ValueLayout.JAVA_BYTE, 8, lying.length());
        assertThatThrownBy(() -> SafetensorsFile.read(file, broken))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("outside the data section");
    }

    @Test
    void randomHeaderCorruptionLoadsOrFailsCleanly() throws IOException {
        Path file = HfParityTest.folder("qwen3-f32").resolve("model.safetensors");
        MemorySegment data = bytes(file);
        long headerEnd = 8 + data.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
        SplittableRandom rnd = new SplittableRandom(7);
        for (int trial = 0; trial < 300; trial++) {
            MemorySegment broken = Arena.ofAuto().allocate(data.byteSize());
            MemorySegment.copy(data, 0, broken, 0, data.byteSize());
            for (int flips = 1 + rnd.nextInt(3); flips > 0; flips--) {
                broken.set(ValueLayout.JAVA_BYTE, rnd.nextLong(headerEnd), (byte) rnd.nextInt(256));
            }
            Throwable t = catchThrowable(() -> {
                SafetensorsFile f = SafetensorsFile.read(file, broken);
                f.entries().keySet().forEach(f::tensor);
            });
            if (t != null) {
                assertThat(t).as("trial %d", trial).isInstanceOf(ModelFormatException.class);
            }
        }
    }

    @Test
    void missingShardAndMissingTensorAreNamed() throws IOException {
        Path folder = copy("qwen2-f32");
        Files.delete(folder.resolve("model-00002-of-00002.safetensors"));
        assertThatThrownBy(() -> HuggingFaceModels.load(folder))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model-00002-of-00002.safetensors")
                .hasMessageContaining("does not exist");

        Path llama = copy("llama-f32");
        Path config = llama.resolve("config.json");
        Files.writeString(
                config, Files.readString(config).replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"));
        assertThatThrownBy(() -> HuggingFaceModels.load(llama))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("missing 9 tensor(s)")
                .hasMessageContaining("model.layers.2.");
    }

    @Test
    void unknownArchitectureListsTheSupportedOnes() throws IOException {
        Path folder = copy("llama-f32");
        Path config = folder.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("LlamaForCausalLM", "GemmaForCausalLM"));
        assertThatThrownBy(() -> HuggingFaceModels.load(folder))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("'GemmaForCausalLM' is not supported")
                .hasMessageContaining("Qwen3ForCausalLM");
    }

    @Test
    void wrongShapesAndBadJsonAreNamed() throws IOException {
        Path folder = copy("llama-f32");
        Path config = folder.resolve("config.json");
        String original = Files.readString(config);
        Files.writeString(config, original.replace("\"intermediate_size\": 64", "\"intermediate_size\": 48"));
        assertThatThrownBy(() -> HuggingFaceModels.load(folder))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("w1 (gate)")
                .hasMessageContaining("expected [48 x 32]");
        Files.writeString(config, original.substring(0, original.length() / 2));
        assertThatThrownBy(() -> HuggingFaceModels.load(folder))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("config.json")
                .hasMessageContaining("not valid JSON");
        Files.writeString(config, original.replace("\"hidden_size\": 32", "\"hidden_size\": \"wide\""));
        assertThatThrownBy(() -> HuggingFaceModels.load(folder))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("\"hidden_size\" must be an integer");
        Files.delete(folder.resolve("model.safetensors"));
        Files.writeString(config, original);
        assertThatThrownBy(() -> HuggingFaceModels.load(folder))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("neither model.safetensors nor model.safetensors.index.json");
    }
}
