package dev.kvslim.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufQuantizer;
import dev.kvslim.core.format.gguf.GgufTensorInfo;
import dev.kvslim.core.testing.Fixtures;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * KVSlim's K-quant encoder against llama.cpp's own {@code llama-quantize} on the same weights: every K-quant matrix of
 * the {@code gguf/quant-types} files (written from {@code base-f32.gguf} without an importance matrix) equals, byte for
 * byte, what {@link Quantizer} writes from the F32 source for that matrix's type.
 */
class KQuantsTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({"tiny-Q4_K_M", "tiny-Q5_K_M", "tiny-Q6_K"})
    void everyKQuantMatrixEqualsLlamaQuantizesBytes(String name) {
        GgufFile base = GgufFile.read(Fixtures.path("gguf/quant-types/base-f32.gguf"));
        GgufFile quantised = GgufFile.read(Fixtures.path("gguf/quant-types/" + name + ".gguf"));
        int compared = 0;
        try (Arena arena = Arena.ofConfined()) {
            for (GgufTensorInfo info : quantised.tensors().values()) {
                FloatTensor theirs = quantised.tensor(info.name());
                GgmlType type = theirs.type();
                if (type != GgmlType.Q4_K && type != GgmlType.Q5_K && type != GgmlType.Q6_K) {
                    continue;
                }
                MemorySegment ours = Quantizer.encode(base.tensor(info.name()), type, arena);
                byte[] want = theirs.segment().toArray(ValueLayout.JAVA_BYTE);
                byte[] got = ours.toArray(ValueLayout.JAVA_BYTE);
                assertThat(got).as("%s %s (%s)", name, info.name(), type).hasSameSizeAs(want);
                int first = java.util.Arrays.mismatch(got, want);
                assertThat(first)
                        .as("%s %s (%s): first differing byte %d of %d", name, info.name(), type, first, want.length)
                        .isEqualTo(-1);
                compared++;
            }
        }
        assertThat(compared).as("matrices compared").isEqualTo(16); // 2 layers x 7, token embedding, output
    }

    /**
     * {@code quantize --type q4_k_m | q5_k_m | q6_k} writes llama-quantize's tensor mix: the same type for every tensor
     * as llama-quantize chose, the same bytes, the same {@code general.file_type}.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"Q4_K_M, tiny-Q4_K_M, 15", "Q5_K_M, tiny-Q5_K_M, 17", "Q6_K, tiny-Q6_K, 18"})
    void theMixesAreLlamaQuantizesFileForFile(GgufQuantizer.Mix mix, String name, long fileType, @TempDir Path dir)
            throws Exception {
        Path out = dir.resolve(name + ".gguf");
        GgufQuantizer.quantize(GgufFile.read(Fixtures.path("gguf/quant-types/base-f32.gguf")), mix, out);
        GgufFile ours = GgufFile.read(out);
        GgufFile theirs = GgufFile.read(Fixtures.path("gguf/quant-types/" + name + ".gguf"));
        assertThat(ours.tensors().keySet())
                .containsExactlyInAnyOrderElementsOf(theirs.tensors().keySet());
        assertThat(ours.getLong("general.file_type", -1)).isEqualTo(fileType);
        assertThat(theirs.getLong("general.file_type", -1)).isEqualTo(fileType);
        for (String tensor : theirs.tensors().keySet()) {
            FloatTensor a = ours.tensor(tensor), b = theirs.tensor(tensor);
            assertThat(a.type()).as("%s %s", name, tensor).isEqualTo(b.type());
            assertThat(a.segment().toArray(ValueLayout.JAVA_BYTE))
                    .as("%s %s bytes", name, tensor)
                    .isEqualTo(b.segment().toArray(ValueLayout.JAVA_BYTE));
        }
    }
}
