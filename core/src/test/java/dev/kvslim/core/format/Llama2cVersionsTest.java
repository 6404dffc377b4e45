package dev.kvslim.core.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.format.llama2c.Llama2cCheckpoint;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.LlamaWeights;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GroupQ8Tensor;
import dev.kvslim.core.tensor.Tensors;
import dev.kvslim.core.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The "ak42" version 1 (float32) and version 2 (int8, runq.c) checkpoint layouts, written here the way
 * llama2.c's export.py writes them (header fields, tensor order, int8 rounding as torch.round) from the legacy
 * stories260K checkpoint.
 */
class Llama2cVersionsTest {

    @TempDir
    Path dir;

    @Test
    void version1HoldsTheSameModel() throws IOException {
        Model legacy = Llama2cCheckpoint.load(Fixtures.path("stories260K/stories260K.bin"));
        Path v1 = dir.resolve("v1.bin");
        Files.write(v1, export(legacy, 1, 0));
        Model model = Llama2cCheckpoint.load(v1);
        assertThat(model.config()).isEqualTo(legacy.config());
        assertThat(logits(model)).containsExactly(logits(legacy));
    }

    @Test
    void version2HoldsTheGroupQuantizedModel() throws IOException {
        Model legacy = Llama2cCheckpoint.load(Fixtures.path("stories260K/stories260K.bin"));
        Path v2 = dir.resolve("v2.bin");
        Files.write(v2, export(legacy, 2, 4)); // export.py halves 64 until it divides dim and every row: 172 -> 4
        Model model = Llama2cCheckpoint.load(v2);
        assertThat(model.weights().wq()[0]).isInstanceOf(GroupQ8Tensor.class);
        assertThat(((GroupQ8Tensor) model.weights().wq()[0]).groupSize()).isEqualTo(4);
        // the same arithmetic over the int8 values expanded to floats: the file was read as written
        assertThat(logits(model)).containsExactly(logits(expanded(model)), within(1e-4f));
        // and int8 weights stay close to the float model
        float[] q = logits(model), f = logits(legacy);
        assertThat(dev.kvslim.core.sample.Sampler.argmax(q)).isEqualTo(dev.kvslim.core.sample.Sampler.argmax(f));
        assertThat(q).containsExactly(f, within(0.25f));
    }

    /** {@code m} with every matrix expanded to F32 on the heap. */
    private static Model expanded(Model m) {
        LlamaWeights w = m.weights();
        java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofAuto();
        java.util.function.UnaryOperator<FloatTensor> f32 =
                t -> Tensors.f32(arena, Tensors.toArray(t), t.rows(), t.cols());
        java.util.function.UnaryOperator<FloatTensor[]> all =
                ts -> java.util.Arrays.stream(ts).map(f32).toArray(FloatTensor[]::new);
        FloatTensor emb = f32.apply(w.tokenEmbedding());
        return new Model(
                m.config(),
                new LlamaWeights(
                        emb,
                        w.attnNorm(),
                        all.apply(w.wq()),
                        all.apply(w.wk()),
                        all.apply(w.wv()),
                        all.apply(w.wo()),
                        w.ffnNorm(),
                        all.apply(w.w1()),
                        all.apply(w.w2()),
                        all.apply(w.w3()),
                        w.finalNorm(),
                        m.config().tiedEmbeddings() ? emb : f32.apply(w.classifier())));
    }

    private static float[] logits(Model m) {
        int[] tokens = {1, 403, 407, 261, 378};
        KvCache cache = m.newDenseCache(tokens.length);
        return m.forward(m.newState(8), tokens, 0, tokens.length, 0, cache).clone();
    }

    /** export.py's version1_export / version2_export. */
    static byte[] export(Model m, int version, int groupSize) throws IOException {
        LlamaConfig c = m.config();
        LlamaWeights w = m.weights();
        ByteBuffer header = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(0x616b3432).putInt(version);
        header.putInt(c.dim())
                .putInt(c.hiddenDim())
                .putInt(c.layers())
                .putInt(c.heads())
                .putInt(c.kvHeads())
                .putInt(c.vocabSize())
                .putInt(c.contextLength());
        header.put((byte) (c.tiedEmbeddings() ? 1 : 0));
        if (version == 2) {
            header.putInt(groupSize);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(header.array());
        for (float[] n : w.attnNorm()) {
            out.write(floats(n));
        }
        for (float[] n : w.ffnNorm()) {
            out.write(floats(n));
        }
        out.write(floats(w.finalNorm()));
        List<FloatTensor> matrices = new ArrayList<>();
        matrices.add(w.tokenEmbedding());
        for (FloatTensor[] group : new FloatTensor[][] {w.wq(), w.wk(), w.wv(), w.wo(), w.w1(), w.w2(), w.w3()}) {
            matrices.addAll(List.of(group));
        }
        if (!c.tiedEmbeddings()) {
            matrices.add(w.classifier());
        }
        for (FloatTensor t : matrices) {
            float[] v = Tensors.toArray(t);
            if (version == 1) {
                out.write(floats(v));
            } else {
                byte[] q = new byte[v.length];
                float[] scales = new float[v.length / groupSize];
                for (int g = 0; g < scales.length; g++) {
                    float max = 0;
                    for (int j = 0; j < groupSize; j++) {
                        max = Math.max(max, Math.abs(v[g * groupSize + j]));
                    }
                    float scale = max / 127f;
                    scales[g] = scale;
                    for (int j = 0; j < groupSize; j++) {
                        q[g * groupSize + j] = (byte) Math.rint(scale == 0 ? 0 : v[g * groupSize + j] / scale);
                    }
                }
                out.write(q);
                out.write(floats(scales));
            }
        }
        return out.toByteArray();
    }

    private static byte[] floats(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }
}
