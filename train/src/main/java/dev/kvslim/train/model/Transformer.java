package dev.kvslim.train.model;

import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.train.ops.Attention;
import dev.kvslim.train.ops.CrossEntropy;
import dev.kvslim.train.ops.Embedding;
import dev.kvslim.train.ops.Matmul;
import dev.kvslim.train.ops.RmsNorm;
import dev.kvslim.train.ops.Rope;
import dev.kvslim.train.ops.SwiGlu;
import java.util.Arrays;

/**
 * The Llama-family decoder as a training graph: {@link #forward} over a batch of {@code B x T} tokens to logits,
 * storing in {@link Activations} what {@link #backward} needs, and {@link #backward} from
 * {@code Activations.dlogits} into every unfrozen parameter's gradient (adding, so micro-batches accumulate).
 * The semantics are the engine's {@code dev.kvslim.core.model.Model}: same norms, RoPE angles and pairing,
 * grouped-query causal attention, SwiGLU, optional Qwen2 biases, DMS decision logits of either variant.
 * <p>DMS: the decision logits {@code z} of every layer ({@code [B*T, KVH]}: variant A from the last channel of the
 * first query head of each group, which is then zeroed before and after RoPE; variant B from the adapter on the
 * layer input) are handed to an {@link AttentionBiasHook}, whose bias enters the attention scores; the hook's
 * gradient of {@code z} flows back into the query projection or the adapter. Without a hook the logits are
 * computed but do not affect the loss (the teacher / eviction-disabled model).
 */
public final class Transformer {

    private final TrainWeights w;
    private final LlamaConfig c;

    public Transformer(TrainWeights weights) {
        this.w = weights;
        this.c = weights.config;
    }

    public TrainWeights weights() {
        return w;
    }

    public LlamaConfig config() {
        return c;
    }

    /** Activations for batches of {@code b x t}; {@code withBias} when an {@link AttentionBiasHook} will be used. */
    public Activations newActivations(int b, int t, boolean withBias) {
        return new Activations(c, b, t, withBias);
    }

    /** Logits of {@code tokens} ({@code B*T} ids, batch-major) into {@code a.logits}. {@code hook} may be null. */
    public void forward(Activations a, int[] tokens, AttentionBiasHook hook) {
        int n = a.n, dim = c.dim(), qDim = c.qDim(), kvDim = c.kvDim(), hid = c.hiddenDim(), hs = c.headSize();
        for (int i = 0; i < n; i++) {
            if (tokens[i] < 0 || tokens[i] >= c.vocabSize()) {
                throw new IllegalArgumentException(
                        "token id " + tokens[i] + " at " + i + " outside the vocabulary [0, " + c.vocabSize() + ")");
            }
        }
        DmsConfig dms = c.dms();
        boolean channel = dms != null && dms.variant() == DmsConfig.Variant.QUERY_CHANNEL;
        Embedding.forward(a.residual[0], tokens, w.embedding.data(), n, dim);
        for (int l = 0; l < c.layers(); l++) {
            float[] in = a.residual[l];
            if (w.dmsProj != null) {
                RmsNorm.forward(a.dmsNormed[l], a.dmsRstd[l], in, w.dmsNorm[l].data(), n, dim, c.normEps());
                float[] z = a.decisionLogits[l];
                Matmul.forward(z, a.dmsNormed[l], w.dmsProj[l].data(), null, n, dim, c.kvHeads(), a.weightT);
                for (int i = 0; i < z.length; i++) {
                    z[i] = dms.scale() * z[i] - dms.offset();
                }
            }
            RmsNorm.forward(a.ln1[l], a.ln1Rstd[l], in, w.attnNorm[l].data(), n, dim, c.normEps());
            Matmul.forward(
                    a.q[l], a.ln1[l], w.wq[l].data(), w.qkvBias ? w.qBias[l].data() : null, n, dim, qDim, a.weightT);
            Matmul.forward(
                    a.k[l], a.ln1[l], w.wk[l].data(), w.qkvBias ? w.kBias[l].data() : null, n, dim, kvDim, a.weightT);
            Matmul.forward(
                    a.v[l], a.ln1[l], w.wv[l].data(), w.qkvBias ? w.vBias[l].data() : null, n, dim, kvDim, a.weightT);
            if (channel) {
                float[] z = a.decisionLogits[l];
                for (int r = 0; r < n; r++) {
                    for (int j = 0; j < c.kvHeads(); j++) {
                        int at = decisionChannel(r, j);
                        z[r * c.kvHeads() + j] = dms.scale() * a.q[l][at] - dms.offset();
                        a.q[l][at] = 0f;
                    }
                }
            }
            Rope.forward(a.q[l], n, a.t, c.heads(), hs, c.ropeStyle(), a.ropeCos, a.ropeSin);
            Rope.forward(a.k[l], n, a.t, c.kvHeads(), hs, c.ropeStyle(), a.ropeCos, a.ropeSin);
            if (channel) {
                zeroDecisionChannels(a.q[l], n);
            }
            a.bias[l] = hook == null ? null : hook.forward(l, a.decisionLogits == null ? null : a.decisionLogits[l]);
            if (a.bias[l] != null && a.dbias == null) {
                throw new IllegalStateException("activations were made without room for an attention bias gradient");
            }
            Attention.forward(
                    a.att[l],
                    a.lse[l],
                    a.q[l],
                    a.k[l],
                    a.v[l],
                    a.bias[l],
                    a.b,
                    a.t,
                    c.heads(),
                    c.kvHeads(),
                    hs,
                    a.attention);
            Matmul.forward(a.tmp, a.att[l], w.wo[l].data(), null, n, qDim, dim, a.weightT);
            add(a.residualMid[l], in, a.tmp);
            RmsNorm.forward(a.ln2[l], a.ln2Rstd[l], a.residualMid[l], w.ffnNorm[l].data(), n, dim, c.normEps());
            Matmul.forward(a.gate[l], a.ln2[l], w.w1[l].data(), null, n, dim, hid, a.weightT);
            Matmul.forward(a.up[l], a.ln2[l], w.w3[l].data(), null, n, dim, hid, a.weightT);
            SwiGlu.forward(a.act[l], a.gate[l], a.up[l], n * hid);
            Matmul.forward(a.tmp, a.act[l], w.w2[l].data(), null, n, hid, dim, a.weightT);
            add(a.residual[l + 1], a.residualMid[l], a.tmp);
        }
        RmsNorm.forward(a.lnf, a.lnfRstd, a.residual[c.layers()], w.finalNorm.data(), n, dim, c.normEps());
        Matmul.forward(a.logits, a.lnf, w.classifier.data(), null, n, dim, c.vocabSize(), a.weightT);
    }

    /**
     * Next-token cross-entropy of the latest forward against {@code targets} ({@code B*T}), each position weighted
     * by {@code mask} (may be null: all 1); writes {@code a.dlogits} scaled by {@code scale} and returns the weighted
     * mean loss (the per-position losses are in {@code a.losses}).
     */
    public float crossEntropy(Activations a, int[] targets, float[] mask, float scale) {
        CrossEntropy.forwardBackward(a.losses, a.dlogits, a.logits, targets, mask, a.n, c.vocabSize(), scale);
        double sum = 0;
        double weights = 0;
        for (int i = 0; i < a.n; i++) {
            double weight = mask == null ? 1 : mask[i];
            sum += weight * a.losses[i];
            weights += weight;
        }
        return weights == 0 ? 0f : (float) (sum / weights);
    }

    /** Gradients of the loss whose logit gradient is in {@code a.dlogits}, added into the parameters' gradients. */
    public void backward(Activations a, int[] tokens, AttentionBiasHook hook) {
        int n = a.n, dim = c.dim(), qDim = c.qDim(), kvDim = c.kvDim(), hid = c.hiddenDim(), hs = c.headSize();
        DmsConfig dms = c.dms();
        boolean channel = dms != null && dms.variant() == DmsConfig.Variant.QUERY_CHANNEL;
        Arrays.fill(a.dres, 0f);
        Arrays.fill(a.dln, 0f);
        Matmul.backward(
                a.dln, w.classifier.gradOrNull(), null, a.dlogits, a.lnf, w.classifier.data(), n, dim, c.vocabSize());
        RmsNorm.backward(
                a.dres, w.finalNorm.gradOrNull(), a.dln, a.residual[c.layers()], w.finalNorm.data(), a.lnfRstd, n, dim);
        for (int l = c.layers() - 1; l >= 0; l--) {
            // feed-forward: residual[l+1] = residualMid + down(silu(gate(ln2)) * up(ln2))
            Arrays.fill(a.dact, 0f);
            Matmul.backward(a.dact, w.w2[l].gradOrNull(), null, a.dres, a.act[l], w.w2[l].data(), n, hid, dim);
            SwiGlu.backward(a.dgate, a.dup, a.dact, a.gate[l], a.up[l], n * hid);
            Arrays.fill(a.dln, 0f);
            Matmul.backward(a.dln, w.w1[l].gradOrNull(), null, a.dgate, a.ln2[l], w.w1[l].data(), n, dim, hid);
            Matmul.backward(a.dln, w.w3[l].gradOrNull(), null, a.dup, a.ln2[l], w.w3[l].data(), n, dim, hid);
            RmsNorm.backward(
                    a.dres,
                    w.ffnNorm[l].gradOrNull(),
                    a.dln,
                    a.residualMid[l],
                    w.ffnNorm[l].data(),
                    a.ln2Rstd[l],
                    n,
                    dim);
            // attention: residualMid = residual[l] + o(attention(rope(q), rope(k), v))
            Arrays.fill(a.datt, 0f);
            Matmul.backward(a.datt, w.wo[l].gradOrNull(), null, a.dres, a.att[l], w.wo[l].data(), n, qDim, dim);
            Arrays.fill(a.dk, 0f);
            Arrays.fill(a.dv, 0f);
            float[] bias = a.bias[l];
            if (bias != null) {
                Arrays.fill(a.dbias, 0f);
            }
            Attention.backward(
                    a.dq,
                    a.dk,
                    a.dv,
                    bias == null ? null : a.dbias,
                    a.datt,
                    a.att[l],
                    a.lse[l],
                    a.q[l],
                    a.k[l],
                    a.v[l],
                    bias,
                    a.b,
                    a.t,
                    c.heads(),
                    c.kvHeads(),
                    hs,
                    a.attention);
            if (channel) {
                zeroDecisionChannels(a.dq, n);
            }
            Rope.backward(a.dq, n, a.t, c.heads(), hs, c.ropeStyle(), a.ropeCos, a.ropeSin);
            Rope.backward(a.dk, n, a.t, c.kvHeads(), hs, c.ropeStyle(), a.ropeCos, a.ropeSin);
            Arrays.fill(a.dz, 0f);
            if (hook != null) {
                hook.backward(l, bias == null ? null : a.dbias, a.dz);
            }
            if (channel) {
                for (int r = 0; r < n; r++) {
                    for (int j = 0; j < c.kvHeads(); j++) {
                        a.dq[decisionChannel(r, j)] = dms.scale() * a.dz[r * c.kvHeads() + j];
                    }
                }
            }
            Arrays.fill(a.dln, 0f);
            Matmul.backward(
                    a.dln,
                    w.wq[l].gradOrNull(),
                    w.qkvBias ? w.qBias[l].gradOrNull() : null,
                    a.dq,
                    a.ln1[l],
                    w.wq[l].data(),
                    n,
                    dim,
                    qDim);
            Matmul.backward(
                    a.dln,
                    w.wk[l].gradOrNull(),
                    w.qkvBias ? w.kBias[l].gradOrNull() : null,
                    a.dk,
                    a.ln1[l],
                    w.wk[l].data(),
                    n,
                    dim,
                    kvDim);
            Matmul.backward(
                    a.dln,
                    w.wv[l].gradOrNull(),
                    w.qkvBias ? w.vBias[l].gradOrNull() : null,
                    a.dv,
                    a.ln1[l],
                    w.wv[l].data(),
                    n,
                    dim,
                    kvDim);
            RmsNorm.backward(
                    a.dres,
                    w.attnNorm[l].gradOrNull(),
                    a.dln,
                    a.residual[l],
                    w.attnNorm[l].data(),
                    a.ln1Rstd[l],
                    n,
                    dim);
            if (w.dmsProj != null) {
                for (int i = 0; i < a.dz.length; i++) {
                    a.dzScaled[i] = dms.scale() * a.dz[i];
                }
                Arrays.fill(a.dln, 0f);
                Matmul.backward(
                        a.dln,
                        w.dmsProj[l].gradOrNull(),
                        null,
                        a.dzScaled,
                        a.dmsNormed[l],
                        w.dmsProj[l].data(),
                        n,
                        dim,
                        c.kvHeads());
                RmsNorm.backward(
                        a.dres,
                        w.dmsNorm[l].gradOrNull(),
                        a.dln,
                        a.residual[l],
                        w.dmsNorm[l].data(),
                        a.dmsRstd[l],
                        n,
                        dim);
            }
        }
        if (!w.embedding.frozen()) {
            Embedding.backward(w.embedding.grad(), a.dres, tokens, n, dim);
        }
    }

    /** Index in a {@code [N, qDim]} query buffer of KV head j's decision channel for row r (variant A). */
    private int decisionChannel(int r, int j) {
        return r * c.qDim() + j * c.groupSize() * c.headSize() + c.headSize() - 1;
    }

    private void zeroDecisionChannels(float[] q, int n) {
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < c.kvHeads(); j++) {
                q[decisionChannel(r, j)] = 0f;
            }
        }
    }

    private static void add(float[] out, float[] x, float[] y) {
        for (int i = 0; i < out.length; i++) {
            out[i] = x[i] + y[i];
        }
    }
}
