package dev.kvslim.eval.testing;

import dev.kvslim.core.format.hf.HuggingFaceConfigWriter;
import dev.kvslim.core.format.safetensors.SafetensorsWriter;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.LlamaWeights;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.LittleEndian;
import dev.kvslim.core.tensor.Tensors;
import dev.kvslim.tasks.tokenizer.DemoTokenizer;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Tiny random Llama models over the demo tokenizer's byte-level vocabulary, for testing the evaluation's mechanics
 * (not its accuracy: a random model answers nothing right). Context 256 holds every task's samples.
 */
public final class TinyModels {

    /** The context the tiny models are made for. */
    public static final int CONTEXT = 256;

    private TinyModels() {}

    public static LlamaConfig config() {
        return LlamaConfig.builder()
                .dim(32)
                .hiddenDim(64)
                .layers(2)
                .heads(4)
                .kvHeads(2)
                .headSize(8)
                .vocabSize(DemoTokenizer.VOCAB_SIZE)
                .contextLength(CONTEXT)
                .tiedEmbeddings(true)
                .build();
    }

    /** A model with seeded Gaussian weights (scale 0.3, norms 1). */
    public static Model random(long seed) {
        LlamaConfig c = config();
        SplittableRandom rnd = new SplittableRandom(seed);
        Arena arena = Arena.ofAuto();
        int layers = c.layers();
        FloatTensor[] wq = new FloatTensor[layers],
                wk = new FloatTensor[layers],
                wv = new FloatTensor[layers],
                wo = new FloatTensor[layers],
                w1 = new FloatTensor[layers],
                w2 = new FloatTensor[layers],
                w3 = new FloatTensor[layers];
        float[][] attnNorm = new float[layers][], ffnNorm = new float[layers][];
        for (int l = 0; l < layers; l++) {
            wq[l] = matrix(arena, rnd, c.qDim(), c.dim());
            wk[l] = matrix(arena, rnd, c.kvDim(), c.dim());
            wv[l] = matrix(arena, rnd, c.kvDim(), c.dim());
            wo[l] = matrix(arena, rnd, c.dim(), c.qDim());
            w1[l] = matrix(arena, rnd, c.hiddenDim(), c.dim());
            w2[l] = matrix(arena, rnd, c.dim(), c.hiddenDim());
            w3[l] = matrix(arena, rnd, c.hiddenDim(), c.dim());
            attnNorm[l] = ones(c.dim());
            ffnNorm[l] = ones(c.dim());
        }
        FloatTensor embedding = matrix(arena, rnd, c.vocabSize(), c.dim());
        return new Model(
                c,
                new LlamaWeights(embedding, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, ones(c.dim()), embedding));
    }

    /**
     * Writes {@code model} (as made by {@link #random}) as a Hugging Face folder with the demo tokenizer, the way the
     * trainer writes the demo model, and returns it.
     */
    public static Path writeFolder(Model model, Path dir) throws IOException {
        LlamaConfig c = model.config();
        LlamaWeights w = model.weights();
        DemoTokenizer.write(dir);
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter s = new SafetensorsWriter();
            add(s, arena, "model.embed_tokens.weight", w.tokenEmbedding());
            for (int l = 0; l < c.layers(); l++) {
                String p = "model.layers." + l + ".";
                add(s, arena, p + "input_layernorm.weight", w.attnNorm()[l]);
                add(s, arena, p + "self_attn.q_proj.weight", w.wq()[l]);
                add(s, arena, p + "self_attn.k_proj.weight", w.wk()[l]);
                add(s, arena, p + "self_attn.v_proj.weight", w.wv()[l]);
                add(s, arena, p + "self_attn.o_proj.weight", w.wo()[l]);
                add(s, arena, p + "post_attention_layernorm.weight", w.ffnNorm()[l]);
                add(s, arena, p + "mlp.gate_proj.weight", w.w1()[l]);
                add(s, arena, p + "mlp.down_proj.weight", w.w2()[l]);
                add(s, arena, p + "mlp.up_proj.weight", w.w3()[l]);
            }
            add(s, arena, "model.norm.weight", w.finalNorm());
            s.metadata("format", "pt");
            s.write(dir.resolve("model.safetensors"));
        }
        HuggingFaceConfigWriter.write(
                dir, c, "LlamaForCausalLM", "llama", "float32", DemoTokenizer.BOS_ID, DemoTokenizer.EOS_ID);
        return dir;
    }

    private static void add(SafetensorsWriter s, Arena arena, String name, FloatTensor t) {
        float[] data = Tensors.toArray(t);
        s.add(name, GgmlType.F32, new long[] {t.rows(), t.cols()}, segment(arena, data));
    }

    private static void add(SafetensorsWriter s, Arena arena, String name, float[] v) {
        s.add(name, GgmlType.F32, new long[] {v.length}, segment(arena, v));
    }

    private static MemorySegment segment(Arena arena, float[] data) {
        MemorySegment seg = arena.allocate((long) data.length * Float.BYTES);
        MemorySegment.copy(data, 0, seg, LittleEndian.F32, 0, data.length);
        return seg;
    }

    private static FloatTensor matrix(Arena arena, SplittableRandom rnd, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian() * 0.3);
        }
        return Tensors.f32(arena, v, rows, cols);
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }
}
