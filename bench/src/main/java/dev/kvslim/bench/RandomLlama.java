package dev.kvslim.bench;

import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.LlamaWeights;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.model.RopeStyle;
import dev.kvslim.core.tensor.F32Tensor;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.LittleEndian;
import dev.kvslim.core.tensor.Quantizer;
import dev.kvslim.core.tensor.Tensors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** Llama models with random weights, built off-heap for speed measurements. */
public final class RandomLlama {

    private RandomLlama() {}

    /** The 125M reference shape: dim 768, 12 layers, 12 query / 4 KV heads, FFN 2048, 32000 tokens, untied. */
    public static LlamaConfig config125M() {
        return LlamaConfig.builder()
                .dim(768)
                .hiddenDim(2048)
                .layers(12)
                .heads(12)
                .kvHeads(4)
                .headSize(64)
                .vocabSize(32000)
                .contextLength(2048)
                .ropeStyle(RopeStyle.INTERLEAVED)
                .build();
    }

    /** A small shape for smoke runs. */
    public static LlamaConfig configSmall() {
        return LlamaConfig.builder()
                .dim(256)
                .hiddenDim(704)
                .layers(4)
                .heads(8)
                .kvHeads(4)
                .headSize(32)
                .vocabSize(4096)
                .contextLength(2048)
                .ropeStyle(RopeStyle.INTERLEAVED)
                .build();
    }

    /** A model of shape {@code c} with uniform random weights of scale ~0.02, matrices stored as {@code type}. */
    public static Model build(LlamaConfig c, GgmlType type, Arena arena, long seed) {
        long[] state = {seed | 1};
        int L = c.layers();
        FloatTensor emb = matrix(c.vocabSize(), c.dim(), type, arena, state);
        FloatTensor[] wq = new FloatTensor[L],
                wk = new FloatTensor[L],
                wv = new FloatTensor[L],
                wo = new FloatTensor[L];
        FloatTensor[] w1 = new FloatTensor[L], w2 = new FloatTensor[L], w3 = new FloatTensor[L];
        float[][] attnNorm = new float[L][], ffnNorm = new float[L][];
        for (int l = 0; l < L; l++) {
            wq[l] = matrix(c.qDim(), c.dim(), type, arena, state);
            wk[l] = matrix(c.kvDim(), c.dim(), type, arena, state);
            wv[l] = matrix(c.kvDim(), c.dim(), type, arena, state);
            wo[l] = matrix(c.dim(), c.qDim(), type, arena, state);
            w1[l] = matrix(c.hiddenDim(), c.dim(), type, arena, state);
            w2[l] = matrix(c.dim(), c.hiddenDim(), type, arena, state);
            w3[l] = matrix(c.hiddenDim(), c.dim(), type, arena, state);
            attnNorm[l] = ones(c.dim());
            ffnNorm[l] = ones(c.dim());
        }
        FloatTensor cls = c.tiedEmbeddings() ? emb : matrix(c.vocabSize(), c.dim(), type, arena, state);
        return new Model(c, new LlamaWeights(emb, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, ones(c.dim()), cls));
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        Arrays.fill(v, 1f);
        return v;
    }

    private static FloatTensor matrix(long rows, int cols, GgmlType type, Arena arena, long[] state) {
        MemorySegment seg = arena.allocate(rows * cols * Float.BYTES, 64);
        long x = state[0];
        for (long i = 0; i < rows * cols; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            seg.setAtIndex(LittleEndian.F32, i, ((x >>> 40) / (float) (1L << 24) - 0.5f) * 0.07f);
        }
        state[0] = x;
        F32Tensor f32 = new F32Tensor(seg, rows, cols);
        if (type == GgmlType.F32) {
            return f32;
        }
        return Tensors.of(type, Quantizer.encode(f32, type, arena), rows, cols);
    }
}
