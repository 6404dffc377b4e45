package dev.kvslim.core.format.llama2c;

import dev.kvslim.core.io.ByteReader;
import dev.kvslim.core.io.MappedFile;
import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.LlamaWeights;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.model.RopeStyle;
import dev.kvslim.core.tensor.F32Tensor;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GroupQ8Tensor;
import dev.kvslim.core.tensor.Tensors;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * llama2.c checkpoints, as karpathy/llama2.c's {@code export.py} writes them:
 * <ul>
 *   <li>legacy: seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative
 *       vocab_size means an untied classifier), then float32 weights in run.c's order, the unused RoPE tables,
 *       and the classifier if untied;</li>
 *   <li>version 1: a 256-byte header (magic "ak42", version, the seven ints, a shared-classifier byte), then
 *       float32 norms and matrices;</li>
 *   <li>version 2 (runq.c): the same header plus an int8 group size; float32 norms, then every matrix as int8
 *       values followed by float32 group scales.</li>
 * </ul>
 * Weights stay in the mapped file.
 */
public final class Llama2cCheckpoint {

    public static final int MAGIC = 0x616b3432; // "ak42"
    private static final int HEADER_BYTES = 256;

    private Llama2cCheckpoint() {}

    public static boolean hasMagic(MemorySegment data) {
        return ByteReader.startsWith(data, MAGIC);
    }

    public static Model load(Path path) {
        return load(path, MappedFile.map(path));
    }

    public static Model load(Path path, MemorySegment data) {
        ByteReader in = new ByteReader(path, data);
        int version = 0;
        if (hasMagic(data)) {
            in.i32("magic");
            version = in.i32("version");
            if (version != 1 && version != 2) {
                throw in.fail("unsupported llama2.c checkpoint version " + version + " (supported: legacy, 1, 2)");
            }
        }
        int dim = in.i32("dim"), hidden = in.i32("hidden_dim"), layers = in.i32("n_layers");
        int heads = in.i32("n_heads"), kvHeads = in.i32("n_kv_heads"), vocab = in.i32("vocab_size");
        int seqLen = in.i32("seq_len");
        boolean shared;
        int groupSize = 0;
        if (version == 0) {
            shared = vocab > 0;
            vocab = Math.abs(vocab);
        } else {
            int flag = in.u8("shared_classifier flag");
            if (flag > 1) {
                throw in.fail("shared_classifier flag is " + flag + ", expected 0 or 1");
            }
            shared = flag == 1;
            if (version == 2) {
                groupSize = in.i32("group size");
                if (groupSize <= 0 || groupSize > (1 << 16)) {
                    throw in.fail("int8 group size " + groupSize + " is invalid");
                }
            }
            in.seek(HEADER_BYTES);
        }
        if (dim <= 0 || heads <= 0 || dim % heads != 0) {
            throw in.fail("header says dim=" + dim + " with " + heads + " heads: dim must be a positive multiple of"
                    + " the head count");
        }
        LlamaConfig config;
        try {
            config = LlamaConfig.builder()
                    .dim(dim)
                    .hiddenDim(hidden)
                    .layers(layers)
                    .heads(heads)
                    .kvHeads(kvHeads)
                    .headSize(dim / heads)
                    .vocabSize(vocab)
                    .contextLength(seqLen)
                    .ropeStyle(RopeStyle.INTERLEAVED)
                    .tiedEmbeddings(shared)
                    .build();
        } catch (IllegalArgumentException e) {
            throw in.fail("invalid header: " + e.getMessage());
        }
        try {
            LlamaWeights weights = switch (version) {
                case 0 -> legacyWeights(in, config);
                case 1 -> v1Weights(in, config);
                default -> v2Weights(in, config, groupSize);
            };
            if (in.remaining() != 0) {
                throw in.fail("has " + in.remaining() + " bytes after the last tensor: the header does not match the"
                        + " weights");
            }
            return new Model(config, weights);
        } catch (ArithmeticException e) {
            throw in.fail("header sizes overflow: " + config);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(path, e.getMessage(), e);
        }
    }

    private static LlamaWeights legacyWeights(ByteReader in, LlamaConfig c) {
        int L = c.layers(), dim = c.dim(), kv = c.kvDim(), hid = c.hiddenDim();
        requireBytes(in, c, expectedFloats(c, true) * Float.BYTES);
        FloatTensor emb = f32(in, c.vocabSize(), dim, "token_embedding_table");
        float[][] attnNorm = norms(in, L, dim, "rms_att_weight");
        FloatTensor[] wq = f32s(in, L, dim, dim, "wq");
        FloatTensor[] wk = f32s(in, L, kv, dim, "wk");
        FloatTensor[] wv = f32s(in, L, kv, dim, "wv");
        FloatTensor[] wo = f32s(in, L, dim, dim, "wo");
        float[][] ffnNorm = norms(in, L, dim, "rms_ffn_weight");
        FloatTensor[] w1 = f32s(in, L, hid, dim, "w1");
        FloatTensor[] w2 = f32s(in, L, dim, hid, "w2");
        FloatTensor[] w3 = f32s(in, L, hid, dim, "w3");
        float[] finalNorm = norms(in, 1, dim, "rms_final_weight")[0];
        long ropeTables = 2L * c.contextLength() * (c.headSize() / 2) * Float.BYTES;
        in.slice(ropeTables, "freq_cis_real/imag (unused)");
        FloatTensor cls = c.tiedEmbeddings() ? emb : f32(in, c.vocabSize(), dim, "wcls");
        return new LlamaWeights(emb, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, cls);
    }

    private static LlamaWeights v1Weights(ByteReader in, LlamaConfig c) {
        int L = c.layers(), dim = c.dim(), kv = c.kvDim(), hid = c.hiddenDim();
        requireBytes(in, c, expectedFloats(c, false) * Float.BYTES);
        float[][] attnNorm = norms(in, L, dim, "attention_norm");
        float[][] ffnNorm = norms(in, L, dim, "ffn_norm");
        float[] finalNorm = norms(in, 1, dim, "norm")[0];
        FloatTensor emb = f32(in, c.vocabSize(), dim, "tok_embeddings");
        FloatTensor[] wq = f32s(in, L, dim, dim, "wq");
        FloatTensor[] wk = f32s(in, L, kv, dim, "wk");
        FloatTensor[] wv = f32s(in, L, kv, dim, "wv");
        FloatTensor[] wo = f32s(in, L, dim, dim, "wo");
        FloatTensor[] w1 = f32s(in, L, hid, dim, "w1");
        FloatTensor[] w2 = f32s(in, L, dim, hid, "w2");
        FloatTensor[] w3 = f32s(in, L, hid, dim, "w3");
        FloatTensor cls = c.tiedEmbeddings() ? emb : f32(in, c.vocabSize(), dim, "output");
        return new LlamaWeights(emb, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, cls);
    }

    private static LlamaWeights v2Weights(ByteReader in, LlamaConfig c, int gs) {
        int L = c.layers(), dim = c.dim(), kv = c.kvDim(), hid = c.hiddenDim();
        long norms = (2L * L + 1) * dim * Float.BYTES;
        long matrices = expectedFloats(c, false) - (2L * L + 1) * dim;
        requireBytes(in, c, Math.addExact(norms, GroupQ8Tensor.fileBytes(matrices, gs)));
        float[][] attnNorm = norms(in, L, dim, "attention_norm");
        float[][] ffnNorm = norms(in, L, dim, "ffn_norm");
        float[] finalNorm = norms(in, 1, dim, "norm")[0];
        FloatTensor emb = q8(in, c.vocabSize(), dim, gs, "tok_embeddings");
        FloatTensor[] wq = q8s(in, L, dim, dim, gs, "wq");
        FloatTensor[] wk = q8s(in, L, kv, dim, gs, "wk");
        FloatTensor[] wv = q8s(in, L, kv, dim, gs, "wv");
        FloatTensor[] wo = q8s(in, L, dim, dim, gs, "wo");
        FloatTensor[] w1 = q8s(in, L, hid, dim, gs, "w1");
        FloatTensor[] w2 = q8s(in, L, dim, hid, gs, "w2");
        FloatTensor[] w3 = q8s(in, L, hid, dim, gs, "w3");
        FloatTensor cls = c.tiedEmbeddings() ? emb : q8(in, c.vocabSize(), dim, gs, "output");
        return new LlamaWeights(emb, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, cls);
    }

    /** Float count of a float32 checkpoint body, to report truncation before reading any tensor. */
    private static long expectedFloats(LlamaConfig c, boolean ropeTables) {
        long dim = c.dim(), kv = c.kvDim(), hid = c.hiddenDim(), L = c.layers(), vocab = c.vocabSize();
        long perLayer = 2 * dim + Math.multiplyExact(2 * dim, dim + kv) + Math.multiplyExact(3 * dim, hid);
        long n = Math.addExact(Math.multiplyExact(vocab, dim), Math.multiplyExact(L, perLayer) + dim);
        if (ropeTables) {
            n = Math.addExact(n, (long) c.contextLength() * c.headSize());
        }
        if (!c.tiedEmbeddings()) {
            n = Math.addExact(n, Math.multiplyExact(vocab, dim));
        }
        return n;
    }

    private static void requireBytes(ByteReader in, LlamaConfig c, long bytes) {
        if (bytes > in.remaining()) {
            throw in.fail("truncated: the header (dim " + c.dim() + ", " + c.layers() + " layers, vocabulary "
                    + c.vocabSize() + ") needs " + bytes + " bytes of weights after offset " + in.position()
                    + ", the file has " + in.remaining());
        }
    }

    private static float[][] norms(ByteReader in, int count, int n, String name) {
        float[][] out = new float[count][];
        for (int i = 0; i < count; i++) {
            out[i] = Tensors.toArray(f32(in, 1, n, name));
        }
        return out;
    }

    private static FloatTensor f32(ByteReader in, long rows, int cols, String name) {
        return new F32Tensor(in.slice(Math.multiplyExact(rows * cols, (long) Float.BYTES), name), rows, cols);
    }

    private static FloatTensor[] f32s(ByteReader in, int layers, long rows, int cols, String name) {
        FloatTensor[] out = new FloatTensor[layers];
        for (int l = 0; l < layers; l++) {
            out[l] = f32(in, rows, cols, name + "[" + l + "]");
        }
        return out;
    }

    private static FloatTensor q8(ByteReader in, long rows, int cols, int gs, String name) {
        long n = rows * cols;
        if (cols % gs != 0) {
            throw in.fail(name + ": rows of " + cols + " values do not split into int8 groups of " + gs);
        }
        MemorySegment q = in.slice(n, name + " int8 values");
        MemorySegment s = in.slice(n / gs * Float.BYTES, name + " scales");
        return new GroupQ8Tensor(q, s, rows, cols, gs);
    }

    private static FloatTensor[] q8s(ByteReader in, int layers, long rows, int cols, int gs, String name) {
        FloatTensor[] out = new FloatTensor[layers];
        for (int l = 0; l < layers; l++) {
            out[l] = q8(in, rows, cols, gs, name + "[" + l + "]");
        }
        return out;
    }
}
