package dev.kvslim.core.model;

import dev.kvslim.core.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The weights of a Llama-family decoder, per layer, in PyTorch's {@code out x in} orientation: every
 * projection is a matrix whose rows are dotted with the input vector. Norm weights are small and live on the
 * heap; the matrices stay where the loader mapped them.
 *
 * @param tokenEmbedding vocab x dim
 * @param attnNorm       [layer][dim]
 * @param wq             [layer] qDim x dim
 * @param wk             [layer] kvDim x dim
 * @param wv             [layer] kvDim x dim
 * @param wo             [layer] dim x qDim
 * @param ffnNorm        [layer][dim]
 * @param w1             [layer] hidden x dim (gate)
 * @param w2             [layer] dim x hidden (down)
 * @param w3             [layer] hidden x dim (up)
 * @param finalNorm      [dim]
 * @param classifier     vocab x dim; the same object as {@code tokenEmbedding} when tied
 * @param qBias          [layer][qDim] added to the query projection (Qwen2), or null
 * @param kBias          [layer][kvDim], or null
 * @param vBias          [layer][kvDim], or null
 * @param qNorm          [layer][headSize] RMSNorm weight applied to each query head before RoPE (Qwen3), or null
 * @param kNorm          [layer][headSize] the same for each key head, or null
 * @param dmsNorm        [layer][dim] RMSNorm weight of the DMS adapter (variant B), or null
 * @param dmsProj        [layer] kvHeads x dim DMS adapter projection (variant B), or null
 */
public record LlamaWeights(
        FloatTensor tokenEmbedding,
        float[][] attnNorm,
        FloatTensor[] wq,
        FloatTensor[] wk,
        FloatTensor[] wv,
        FloatTensor[] wo,
        float[][] ffnNorm,
        FloatTensor[] w1,
        FloatTensor[] w2,
        FloatTensor[] w3,
        float[] finalNorm,
        FloatTensor classifier,
        float[][] qBias,
        float[][] kBias,
        float[][] vBias,
        float[][] qNorm,
        float[][] kNorm,
        float[][] dmsNorm,
        FloatTensor[] dmsProj) {

    /** Weights without projection biases or per-head norms (llama2.c, GGUF llama). */
    public LlamaWeights(
            FloatTensor tokenEmbedding,
            float[][] attnNorm,
            FloatTensor[] wq,
            FloatTensor[] wk,
            FloatTensor[] wv,
            FloatTensor[] wo,
            float[][] ffnNorm,
            FloatTensor[] w1,
            FloatTensor[] w2,
            FloatTensor[] w3,
            float[] finalNorm,
            FloatTensor classifier) {
        this(
                tokenEmbedding,
                attnNorm,
                wq,
                wk,
                wv,
                wo,
                ffnNorm,
                w1,
                w2,
                w3,
                finalNorm,
                classifier,
                null,
                null,
                null,
                null,
                null,
                null,
                null);
    }

    /** These weights with a DMS adapter (variant B). */
    public LlamaWeights withDmsAdapter(float[][] norm, FloatTensor[] proj) {
        return new LlamaWeights(
                tokenEmbedding,
                attnNorm,
                wq,
                wk,
                wv,
                wo,
                ffnNorm,
                w1,
                w2,
                w3,
                finalNorm,
                classifier,
                qBias,
                kBias,
                vBias,
                qNorm,
                kNorm,
                norm,
                proj);
    }

    /** Checks every shape against {@code c}; the message names the first tensor that is wrong. */
    public void validate(LlamaConfig c) {
        shape("token embedding", tokenEmbedding, c.vocabSize(), c.dim());
        shape("classifier", classifier, c.vocabSize(), c.dim());
        length("final norm", finalNorm, c.dim());
        for (int l = 0; l < c.layers(); l++) {
            length("layer " + l + " attention norm", attnNorm[l], c.dim());
            length("layer " + l + " ffn norm", ffnNorm[l], c.dim());
            shape("layer " + l + " wq", wq[l], c.qDim(), c.dim());
            shape("layer " + l + " wk", wk[l], c.kvDim(), c.dim());
            shape("layer " + l + " wv", wv[l], c.kvDim(), c.dim());
            shape("layer " + l + " wo", wo[l], c.dim(), c.qDim());
            shape("layer " + l + " w1 (gate)", w1[l], c.hiddenDim(), c.dim());
            shape("layer " + l + " w2 (down)", w2[l], c.dim(), c.hiddenDim());
            shape("layer " + l + " w3 (up)", w3[l], c.hiddenDim(), c.dim());
            optional("layer " + l + " q bias", qBias, l, c.qDim());
            optional("layer " + l + " k bias", kBias, l, c.kvDim());
            optional("layer " + l + " v bias", vBias, l, c.kvDim());
            optional("layer " + l + " q norm", qNorm, l, c.headSize());
            optional("layer " + l + " k norm", kNorm, l, c.headSize());
        }
        for (int l = 0; l < c.layers() && dmsProj != null; l++) {
            shape("layer " + l + " DMS adapter", dmsProj[l], c.kvHeads(), c.dim());
            optional("layer " + l + " DMS adapter norm", dmsNorm, l, c.dim());
        }
        boolean adapter = c.dms() != null && c.dms().variant() == DmsConfig.Variant.ADAPTER;
        if (adapter != (dmsProj != null) || (dmsProj == null) != (dmsNorm == null)) {
            throw new IllegalArgumentException(
                    "a DMS adapter model needs the adapter norm and projection of every layer,"
                            + " and only such a model has them");
        }
        if ((qNorm == null) != (kNorm == null)) {
            throw new IllegalArgumentException("query and key head norms come together: one is missing");
        }
    }

    /** Every matrix, for reporting types and sizes. */
    public List<FloatTensor> matrices() {
        List<FloatTensor> all = new ArrayList<>();
        all.add(tokenEmbedding);
        for (FloatTensor[] group : new FloatTensor[][] {wq, wk, wv, wo, w1, w2, w3}) {
            all.addAll(List.of(group));
        }
        if (classifier != tokenEmbedding) {
            all.add(classifier);
        }
        return all;
    }

    private static void shape(String name, FloatTensor t, long rows, int cols) {
        if (t == null) {
            throw new IllegalArgumentException("missing tensor: " + name);
        }
        if (t.rows() != rows || t.cols() != cols) {
            throw new IllegalArgumentException("tensor " + name + " has shape [" + t.rows() + " x " + t.cols()
                    + "], expected [" + rows + " x " + cols + "]");
        }
    }

    private static void optional(String name, float[][] perLayer, int layer, int n) {
        if (perLayer != null) {
            length(name, perLayer[layer], n);
        }
    }

    private static void length(String name, float[] v, int n) {
        if (v == null) {
            throw new IllegalArgumentException("missing tensor: " + name);
        }
        if (v.length != n) {
            throw new IllegalArgumentException("tensor " + name + " has " + v.length + " values, expected " + n);
        }
    }
}
