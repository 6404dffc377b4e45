package dev.kvslim.core.format;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufKv;
import dev.kvslim.core.format.gguf.GgufModels;
import dev.kvslim.core.format.gguf.GgufValueType;
import dev.kvslim.core.format.gguf.GgufWriter;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.testing.Fixtures;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufFileTest {

    @Test
    void readsLlamaCppMetadata() {
        GgufFile f = GgufFile.read(Fixtures.path("gguf/llama-2-tiny-random/llama-2-tiny-random.gguf"));
        assertThat(f.version()).isEqualTo(3);
        assertThat(f.getString("general.architecture", null)).isEqualTo("llama");
        assertThat(f.getInt("llama.embedding_length", 0)).isEqualTo(8);
        assertThat(f.getStrings("tokenizer.ggml.tokens")).hasSize(32000);
        assertThat(f.tensors()).hasSize(12);
        assertThat(f.tensors().get("token_embd.weight").dims()).containsExactly(8, 32000);
    }

    @Test
    void version2LaysOutTheSameAsVersion3() throws Exception {
        Path path = Fixtures.path("stories260K/derived/stories260K.gguf");
        byte[] bytes = Files.readAllBytes(path);
        MemorySegment v2 = Arena.ofAuto().allocate(bytes.length);
        MemorySegment.copy(bytes, 0, v2, ValueLayout.JAVA_BYTE, 0, bytes.length);
        v2.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4, 2);
        GgufFile f = GgufFile.read(path, v2);
        assertThat(f.version()).isEqualTo(2);
        Model a = GgufModels.load(f), b = GgufModels.load(GgufFile.read(path));
        int[] tokens = {1, 403, 407};
        assertThat(a.forward(a.newState(4), tokens, 0, 3, 0, a.newDenseCache(3)))
                .containsExactly(b.forward(b.newState(4), tokens, 0, 3, 0, b.newDenseCache(3)));
    }

    @Test
    void writerRoundTripsEveryValueTypeAndTensor(@TempDir Path dir) throws Exception {
        GgufWriter w = new GgufWriter();
        w.putString("s", "héllo");
        w.putUInt32("u32", 4_000_000_000L);
        w.putFloat32("f", 1.5f);
        w.putBool("b", true);
        w.put(GgufKv.of("i8", GgufValueType.INT8, -5));
        w.put(GgufKv.of("u64", GgufValueType.UINT64, 1L << 40));
        w.put(GgufKv.of("f64", GgufValueType.FLOAT64, 0.25));
        w.put(GgufKv.array("ints", GgufValueType.INT32, new int[] {1, -2, 3}));
        w.put(GgufKv.array("strs", GgufValueType.STRING, new String[] {"a", "", "▁b"}));
        w.put(GgufKv.array("floats", GgufValueType.FLOAT32, new float[] {0.5f, -1f}));
        MemorySegment data = Arena.ofAuto().allocate(3 * 5 * 4);
        for (int i = 0; i < 15; i++) {
            data.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, i);
        }
        w.addTensor("t", GgmlType.F32, new long[] {5, 3}, data);
        w.addTensor("u", GgmlType.F32, new long[] {1}, data.asSlice(0, 4));
        Path out = dir.resolve("x.gguf");
        w.write(out);

        GgufFile f = GgufFile.read(out);
        assertThat(f.getString("s", null)).isEqualTo("héllo");
        assertThat(f.getLong("u32", 0)).isEqualTo(4_000_000_000L);
        assertThat(f.getFloat("f", 0)).isEqualTo(1.5f);
        assertThat(f.getBool("b", false)).isTrue();
        assertThat(f.getInt("i8", 0)).isEqualTo(-5);
        assertThat(f.getLong("u64", 0)).isEqualTo(1L << 40);
        assertThat(f.value("f64")).isEqualTo(0.25);
        assertThat(f.getInts("ints")).containsExactly(1, -2, 3);
        assertThat(f.getStrings("strs")).containsExactly("a", "", "▁b");
        assertThat(f.getFloats("floats")).containsExactly(0.5f, -1f);
        assertThat(f.alignment()).isEqualTo(32);
        assertThat(f.tensor("t").rows()).isEqualTo(3);
        assertThat(f.tensor("t").get(14)).isEqualTo(14f);
        assertThat(f.tensors().get("u").offset() % 32).isZero();
        assertThat(dir.toFile().list()).containsExactly("x.gguf"); // no temporary file left behind
    }
}
