package dev.kvslim.train.model;

import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.RopeStyle;
import dev.kvslim.train.ops.ReferenceAccess;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The whole decoder in double precision, written straight from the formulas with the parameters looked up by
 * their Hugging Face names: the function the whole-model gradient check differentiates. {@code bias} maps a
 * layer and its decision logits to that layer's attention bias (or null).
 */
final class ReferenceTransformer {

    final LlamaConfig c;
    final Map<String, double[]> p = new HashMap<>();

    ReferenceTransformer(TrainWeights w) {
        this.c = w.config;
        for (Parameter x : w.parameters()) {
            double[] d = new double[x.size()];
            for (int i = 0; i < d.length; i++) {
                d[i] = x.data()[i];
            }
            p.put(x.name(), d);
        }
    }

    /** Mean cross-entropy over all positions. */
    double loss(int[] tokens, int[] targets, int b, int t, BiFunction<Integer, double[], double[]> bias) {
        double[] logits = logits(tokens, b, t, bias);
        int v = c.vocabSize();
        double sum = 0;
        for (int r = 0; r < b * t; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < v; i++) {
                max = Math.max(max, logits[r * v + i]);
            }
            double s = 0;
            for (int i = 0; i < v; i++) {
                s += Math.exp(logits[r * v + i] - max);
            }
            sum += Math.log(s) + max - logits[r * v + targets[r]];
        }
        return sum / (b * t);
    }

    double[] logits(int[] tokens, int b, int t, BiFunction<Integer, double[], double[]> biasFn) {
        int n = b * t, dim = c.dim(), hs = c.headSize(), qDim = c.qDim(), kvDim = c.kvDim(), kvh = c.kvHeads();
        double eps = c.normEps();
        double[] x = new double[n * dim];
        double[] emb = p.get("model.embed_tokens.weight");
        for (int r = 0; r < n; r++) {
            System.arraycopy(emb, tokens[r] * dim, x, r * dim, dim);
        }
        DmsConfig dms = c.dms();
        float[] freq = c.ropeFrequencies();
        for (int l = 0; l < c.layers(); l++) {
            String pre = "model.layers." + l + ".";
            double[] z = dms == null ? null : new double[n * kvh];
            if (dms != null && dms.variant() == DmsConfig.Variant.ADAPTER) {
                double[] a =
                        ReferenceAccess.rmsnorm(x, p.get(pre + "self_attn.dms_proj_alpha_norm.weight"), n, dim, eps);
                double[] proj =
                        ReferenceAccess.matmul(a, p.get(pre + "self_attn.dms_proj_alpha.weight"), null, n, dim, kvh);
                for (int i = 0; i < z.length; i++) {
                    z[i] = dms.scale() * proj[i] - dms.offset();
                }
            }
            double[] h = ReferenceAccess.rmsnorm(x, p.get(pre + "input_layernorm.weight"), n, dim, eps);
            double[] q = ReferenceAccess.matmul(
                    h, p.get(pre + "self_attn.q_proj.weight"), p.get(pre + "self_attn.q_proj.bias"), n, dim, qDim);
            double[] k = ReferenceAccess.matmul(
                    h, p.get(pre + "self_attn.k_proj.weight"), p.get(pre + "self_attn.k_proj.bias"), n, dim, kvDim);
            double[] v = ReferenceAccess.matmul(
                    h, p.get(pre + "self_attn.v_proj.weight"), p.get(pre + "self_attn.v_proj.bias"), n, dim, kvDim);
            boolean channel = dms != null && dms.variant() == DmsConfig.Variant.QUERY_CHANNEL;
            if (channel) {
                for (int r = 0; r < n; r++) {
                    for (int j = 0; j < kvh; j++) {
                        int at = r * qDim + j * c.groupSize() * hs + hs - 1;
                        z[r * kvh + j] = dms.scale() * q[at] - dms.offset();
                        q[at] = 0;
                    }
                }
            }
            RopeStyle style = c.ropeStyle();
            q = ReferenceAccess.rope(q, n, t, c.heads(), hs, style, freq);
            k = ReferenceAccess.rope(k, n, t, kvh, hs, style, freq);
            if (channel) {
                for (int r = 0; r < n; r++) {
                    for (int j = 0; j < kvh; j++) {
                        q[r * qDim + j * c.groupSize() * hs + hs - 1] = 0;
                    }
                }
            }
            double[] bias = biasFn == null ? null : biasFn.apply(l, z);
            double[] att = ReferenceAccess.attention(q, k, v, bias, b, t, c.heads(), kvh, hs);
            double[] o = ReferenceAccess.matmul(att, p.get(pre + "self_attn.o_proj.weight"), null, n, qDim, dim);
            for (int i = 0; i < x.length; i++) {
                x[i] += o[i];
            }
            double[] h2 = ReferenceAccess.rmsnorm(x, p.get(pre + "post_attention_layernorm.weight"), n, dim, eps);
            double[] g = ReferenceAccess.matmul(h2, p.get(pre + "mlp.gate_proj.weight"), null, n, dim, c.hiddenDim());
            double[] u = ReferenceAccess.matmul(h2, p.get(pre + "mlp.up_proj.weight"), null, n, dim, c.hiddenDim());
            double[] d = ReferenceAccess.matmul(
                    ReferenceAccess.swiglu(g, u), p.get(pre + "mlp.down_proj.weight"), null, n, c.hiddenDim(), dim);
            for (int i = 0; i < x.length; i++) {
                x[i] += d[i];
            }
        }
        double[] f = ReferenceAccess.rmsnorm(x, p.get("model.norm.weight"), n, dim, eps);
        double[] cls = p.get(c.tiedEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight");
        return ReferenceAccess.matmul(f, cls, null, n, dim, c.vocabSize());
    }
}
