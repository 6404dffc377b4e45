package dev.kvslim.train.model;

import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.train.model.Parameter.Kind;
import dev.kvslim.train.random.Rng;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * All parameters of a Llama-family decoder under their Hugging Face names, in a fixed order (the order of the
 * optimiser state in checkpoints). Query/key/value biases exist for Qwen2 ({@code architecture}
 * {@code Qwen2ForCausalLM}); the DMS adapter (variant B) exists when the config asks for it. Tied embeddings are
 * one parameter used twice.
 */
public final class TrainWeights {

    public final LlamaConfig config;
    public final boolean qkvBias;
    public final Parameter embedding;
    public final Parameter[] attnNorm, wq, wk, wv, wo, qBias, kBias, vBias, ffnNorm, w1, w2, w3, dmsNorm, dmsProj;
    public final Parameter finalNorm;
    public final Parameter classifier;
    private final List<Parameter> all = new ArrayList<>();
    private final Map<String, Parameter> byName = new LinkedHashMap<>();

    public TrainWeights(LlamaConfig c) {
        if (c.slidingWindow() > 0) {
            throw new IllegalArgumentException("training with a sliding window is not supported");
        }
        this.config = c;
        this.qkvBias = "Qwen2ForCausalLM".equals(c.architecture());
        boolean adapter = c.dms() != null && c.dms().variant() == DmsConfig.Variant.ADAPTER;
        int L = c.layers(), dim = c.dim(), hid = c.hiddenDim(), qDim = c.qDim(), kvDim = c.kvDim();
        embedding = add(new Parameter("model.embed_tokens.weight", Kind.EMBEDDING, c.vocabSize(), dim));
        attnNorm = new Parameter[L];
        wq = new Parameter[L];
        wk = new Parameter[L];
        wv = new Parameter[L];
        wo = new Parameter[L];
        qBias = qkvBias ? new Parameter[L] : null;
        kBias = qkvBias ? new Parameter[L] : null;
        vBias = qkvBias ? new Parameter[L] : null;
        ffnNorm = new Parameter[L];
        w1 = new Parameter[L];
        w2 = new Parameter[L];
        w3 = new Parameter[L];
        dmsNorm = adapter ? new Parameter[L] : null;
        dmsProj = adapter ? new Parameter[L] : null;
        for (int l = 0; l < L; l++) {
            String p = "model.layers." + l + ".";
            attnNorm[l] = add(new Parameter(p + "input_layernorm.weight", Kind.NORM, dim));
            wq[l] = add(new Parameter(p + "self_attn.q_proj.weight", Kind.MATRIX, qDim, dim));
            wk[l] = add(new Parameter(p + "self_attn.k_proj.weight", Kind.MATRIX, kvDim, dim));
            wv[l] = add(new Parameter(p + "self_attn.v_proj.weight", Kind.MATRIX, kvDim, dim));
            if (qkvBias) {
                qBias[l] = add(new Parameter(p + "self_attn.q_proj.bias", Kind.BIAS, qDim));
                kBias[l] = add(new Parameter(p + "self_attn.k_proj.bias", Kind.BIAS, kvDim));
                vBias[l] = add(new Parameter(p + "self_attn.v_proj.bias", Kind.BIAS, kvDim));
            }
            wo[l] = add(new Parameter(p + "self_attn.o_proj.weight", Kind.MATRIX, dim, qDim));
            if (adapter) {
                dmsNorm[l] = add(new Parameter(p + "self_attn.dms_proj_alpha_norm.weight", Kind.NORM, dim));
                dmsProj[l] = add(new Parameter(p + "self_attn.dms_proj_alpha.weight", Kind.MATRIX, c.kvHeads(), dim));
            }
            ffnNorm[l] = add(new Parameter(p + "post_attention_layernorm.weight", Kind.NORM, dim));
            w1[l] = add(new Parameter(p + "mlp.gate_proj.weight", Kind.MATRIX, hid, dim));
            w3[l] = add(new Parameter(p + "mlp.up_proj.weight", Kind.MATRIX, hid, dim));
            w2[l] = add(new Parameter(p + "mlp.down_proj.weight", Kind.MATRIX, dim, hid));
        }
        finalNorm = add(new Parameter("model.norm.weight", Kind.NORM, dim));
        classifier =
                c.tiedEmbeddings() ? embedding : add(new Parameter("lm_head.weight", Kind.MATRIX, c.vocabSize(), dim));
    }

    private Parameter add(Parameter p) {
        all.add(p);
        byName.put(p.name(), p);
        return p;
    }

    /** Every parameter once, in a fixed order. */
    public List<Parameter> parameters() {
        return Collections.unmodifiableList(all);
    }

    /** The parameter named {@code name}, or null. */
    public Parameter get(String name) {
        return byName.get(name);
    }

    public long count() {
        long n = 0;
        for (Parameter p : all) {
            n += p.size();
        }
        return n;
    }

    /**
     * Fan-in initialisation: each matrix and the embedding normal(0, 1/sqrt(columns)) (the input width of a
     * {@code out x in} matrix, the model width for the embedding), the projections that write into the residual
     * stream ({@code o_proj}, {@code down_proj}) that divided by sqrt(2 layers) as in GPT-2, norms 1, biases 0, the
     * DMS adapter projection 0 (so training starts at "evict nothing", spec 3.1).
     *
     * <p>GPT-2's fixed 0.02 is 1/sqrt(2500): right for widths near 768, but at the demo model's width 128 it makes
     * query-key products about 6x smaller than at 768 and attention starts (and stays for a long time) uniform. On
     * repeated random lines of varying length, a 4-layer width-128 model with 0.02 had not learnt to copy by content
     * after 3,000 steps (loss 2.45); with fan-in it learnt at step ~650 (loss 1.68 by step 900).
     */
    public void initialise(long seed) {
        Rng rng = new Rng(seed);
        for (Parameter p : all) {
            float[] d = p.data();
            boolean residual = p.name().endsWith("o_proj.weight") || p.name().endsWith("down_proj.weight");
            boolean zero = p.kind() == Kind.BIAS || p.name().endsWith("dms_proj_alpha.weight");
            double std = 1 / Math.sqrt(p.shape()[p.shape().length - 1]);
            if (residual) {
                std /= Math.sqrt(2.0 * config.layers());
            }
            for (int i = 0; i < d.length; i++) {
                d[i] = switch (p.kind()) {
                    case NORM -> 1f;
                    case BIAS -> 0f;
                    default -> zero ? 0f : (float) (rng.nextGaussian() * std);
                };
            }
        }
    }

    public void zeroGrad() {
        for (Parameter p : all) {
            java.util.Arrays.fill(p.grad(), 0f);
        }
    }
}
