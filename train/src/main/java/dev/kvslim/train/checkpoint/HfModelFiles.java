package dev.kvslim.train.checkpoint;

import dev.kvslim.core.format.hf.HuggingFaceConfigWriter;
import dev.kvslim.core.format.hf.HuggingFaceModels;
import dev.kvslim.core.format.safetensors.SafetensorsWriter;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.LlamaWeights;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.model.RopeStyle;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.LittleEndian;
import dev.kvslim.train.model.Parameter;
import dev.kvslim.train.model.TrainWeights;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Trained weights to and from the Hugging Face folder format the engine loads (config.json + model.safetensors,
 * F32). Hugging Face pairs RoPE channels by rotating halves; a model trained with interleaved pairs has its
 * query and key rows reordered on the way out (as llama.cpp's converter does the other way), so the engine,
 * which reads folders as rotate-half, computes the same function.
 */
public final class HfModelFiles {

    private HfModelFiles() {}

    /** Writes config.json, generation_config.json and model.safetensors of {@code w} into {@code dir}. */
    public static void write(TrainWeights w, Path dir, long bos, long eos) throws IOException {
        LlamaConfig c = w.config;
        String arch =
                HuggingFaceModels.ARCHITECTURES.contains(c.architecture()) ? c.architecture() : "LlamaForCausalLM";
        String type = switch (arch) {
            case "Qwen2ForCausalLM" -> "qwen2";
            case "MistralForCausalLM" -> "mistral";
            case "Qwen3ForCausalLM" -> "qwen3";
            default -> "llama";
        };
        boolean permute = c.ropeStyle() == RopeStyle.INTERLEAVED;
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter s = new SafetensorsWriter();
            for (Parameter p : w.parameters()) {
                float[] data = p.data();
                if (permute
                        && (p.name().endsWith("q_proj.weight")
                                || p.name().endsWith("k_proj.weight")
                                || p.name().endsWith("q_proj.bias")
                                || p.name().endsWith("k_proj.bias"))) {
                    int rows = p.shape()[0];
                    data = interleavedToHalf(data, rows / c.headSize(), c.headSize(), data.length / rows);
                }
                long[] shape = new long[p.shape().length];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = p.shape()[i];
                }
                MemorySegment seg = arena.allocate((long) data.length * Float.BYTES);
                MemorySegment.copy(data, 0, seg, LittleEndian.F32, 0, data.length);
                s.add(p.name(), GgmlType.F32, shape, seg);
            }
            s.metadata("format", "pt");
            s.write(dir.resolve("model.safetensors"));
        }
        HuggingFaceConfigWriter.write(
                dir, c.ropeStyle() == RopeStyle.HALF ? c : withHalfRope(c), arch, type, "float32", bos, eos);
    }

    /** The weights of the folder {@code dir} (any dtype the engine reads), as F32 training parameters. */
    public static TrainWeights read(Path dir) {
        return fromModel(HuggingFaceModels.load(dir), dir.toString());
    }

    /**
     * The weights of the folder {@code dir} under the shape {@code shape}: every tensor must be there with the same
     * shape, and no other (the context length, which no weight depends on, may differ), e.g. to continue training an
     * earlier stage's model at a longer context.
     */
    public static TrainWeights readAs(Path dir, LlamaConfig shape) {
        TrainWeights loaded = read(dir);
        TrainWeights w = new TrainWeights(shape);
        for (Parameter p : w.parameters()) {
            Parameter src = loaded.get(p.name());
            if (src == null || !Arrays.equals(src.shape(), p.shape())) {
                throw new IllegalArgumentException(dir + " does not match the configured model: tensor " + p.name()
                        + (src == null
                                ? " is missing"
                                : " has shape " + Arrays.toString(src.shape()) + ", the config needs "
                                        + Arrays.toString(p.shape())));
            }
            System.arraycopy(src.data(), 0, p.data(), 0, p.data().length);
        }
        if (loaded.parameters().size() != w.parameters().size()) {
            throw new IllegalArgumentException(
                    dir + " holds " + loaded.parameters().size() + " tensors, the configured model "
                            + w.parameters().size());
        }
        return w;
    }

    /** The weights of an engine model (any weight type), as F32 training parameters; {@code name} for errors. */
    public static TrainWeights fromModel(Model m, String name) {
        LlamaConfig c = m.config();
        if (m.weights().qNorm() != null) {
            throw new IllegalArgumentException(
                    name + ": per-head query/key norms (Qwen3) are not supported by the trainer");
        }
        TrainWeights w = new TrainWeights(c);
        LlamaWeights lw = m.weights();
        copy(lw.tokenEmbedding(), w.embedding);
        for (int l = 0; l < c.layers(); l++) {
            System.arraycopy(lw.attnNorm()[l], 0, w.attnNorm[l].data(), 0, c.dim());
            System.arraycopy(lw.ffnNorm()[l], 0, w.ffnNorm[l].data(), 0, c.dim());
            copy(lw.wq()[l], w.wq[l]);
            copy(lw.wk()[l], w.wk[l]);
            copy(lw.wv()[l], w.wv[l]);
            copy(lw.wo()[l], w.wo[l]);
            copy(lw.w1()[l], w.w1[l]);
            copy(lw.w2()[l], w.w2[l]);
            copy(lw.w3()[l], w.w3[l]);
            if (w.qkvBias) {
                System.arraycopy(lw.qBias()[l], 0, w.qBias[l].data(), 0, c.qDim());
                System.arraycopy(lw.kBias()[l], 0, w.kBias[l].data(), 0, c.kvDim());
                System.arraycopy(lw.vBias()[l], 0, w.vBias[l].data(), 0, c.kvDim());
            }
            if (w.dmsProj != null) {
                System.arraycopy(lw.dmsNorm()[l], 0, w.dmsNorm[l].data(), 0, c.dim());
                copy(lw.dmsProj()[l], w.dmsProj[l]);
            }
        }
        System.arraycopy(lw.finalNorm(), 0, w.finalNorm.data(), 0, c.dim());
        if (!c.tiedEmbeddings()) {
            copy(lw.classifier(), w.classifier);
        }
        return w;
    }

    private static void copy(FloatTensor t, Parameter p) {
        for (int r = 0; r < t.rows(); r++) {
            t.dequantizeRow(r, p.data(), r * t.cols());
        }
    }

    private static LlamaConfig withHalfRope(LlamaConfig c) {
        return new LlamaConfig(
                c.architecture(),
                c.dim(),
                c.hiddenDim(),
                c.layers(),
                c.heads(),
                c.kvHeads(),
                c.headSize(),
                c.vocabSize(),
                c.contextLength(),
                c.normEps(),
                c.ropeTheta(),
                RopeStyle.HALF,
                c.tiedEmbeddings(),
                c.ropeScaling(),
                c.slidingWindow(),
                c.ropeFactors(),
                c.dms());
    }

    /** Rows of each head from interleaved pairs (2i, 2i+1) to rotate-half pairs (i, i + d/2). */
    static float[] interleavedToHalf(float[] data, int heads, int d, int cols) {
        float[] out = new float[data.length];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < d / 2; i++) {
                for (int j = 0; j < 2; j++) {
                    int from = h * d + 2 * i + j;
                    int to = h * d + j * (d / 2) + i;
                    System.arraycopy(data, from * cols, out, to * cols, cols);
                }
            }
        }
        return out;
    }
}
