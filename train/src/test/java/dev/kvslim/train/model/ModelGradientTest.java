package dev.kvslim.train.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.RopeStyle;
import dev.kvslim.train.random.Rng;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * The whole model's F32 backward against central finite differences of the double-precision reference model,
 * for a sample of elements of every parameter tensor, on tiny models covering untied/tied embeddings, both RoPE
 * pairings, Qwen2 biases, a caller-supplied attention bias, and both DMS decision-logit variants feeding it.
 */
class ModelGradientTest {

    static final int B = 2, T = 7;

    static LlamaConfig config(String arch, RopeStyle style, boolean tied, DmsConfig dms) {
        return LlamaConfig.builder()
                .architecture(arch)
                .dim(16)
                .hiddenDim(24)
                .layers(2)
                .heads(4)
                .kvHeads(2)
                .headSize(4)
                .vocabSize(19)
                .contextLength(64)
                .ropeStyle(style)
                .tiedEmbeddings(tied)
                .dms(dms)
                .build();
    }

    /** Random weights large enough that every gradient is well away from zero. */
    static TrainWeights randomWeights(LlamaConfig c, long seed) {
        TrainWeights w = new TrainWeights(c);
        Rng rng = new Rng(seed);
        for (Parameter p : w.parameters()) {
            float[] d = p.data();
            for (int i = 0; i < d.length; i++) {
                double g = rng.nextGaussian();
                d[i] = (float)
                        (p.kind() == Parameter.Kind.NORM
                                ? 1 + 0.1 * g
                                : p.kind() == Parameter.Kind.EMBEDDING ? g : 0.3 * g);
            }
        }
        return w;
    }

    static int[] tokens(long seed, int n, int vocab) {
        Rng rng = new Rng(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rng.nextInt(vocab);
        }
        return t;
    }

    @Test
    void plainLlamaUntiedRotateHalf() {
        check(config("LlamaForCausalLM", RopeStyle.HALF, false, null), false);
    }

    @Test
    void qwen2BiasesTiedInterleavedWithFixedAttentionBias() {
        check(config("Qwen2ForCausalLM", RopeStyle.INTERLEAVED, true, null), true);
    }

    @Test
    void dmsAdapterLogitsGetGradientsThroughTheBias() {
        check(
                config(
                        "LlamaForCausalLM",
                        RopeStyle.HALF,
                        false,
                        new DmsConfig(2, 2f, 0.5f, DmsConfig.Variant.ADAPTER, false)),
                true);
    }

    @Test
    void dmsQueryChannelLogitsGetGradientsThroughTheBias() {
        check(
                config(
                        "LlamaForCausalLM",
                        RopeStyle.HALF,
                        false,
                        new DmsConfig(2, 2f, 0.5f, DmsConfig.Variant.QUERY_CHANNEL, false)),
                true);
        check(
                config(
                        "LlamaForCausalLM",
                        RopeStyle.INTERLEAVED,
                        true,
                        new DmsConfig(2, 2f, 0.5f, DmsConfig.Variant.QUERY_CHANNEL, false)),
                true);
    }

    private void check(LlamaConfig c, boolean withBias) {
        TrainWeights w = randomWeights(c, 42);
        Transformer model = new Transformer(w);
        Activations a = model.newActivations(B, T, withBias);
        int[] in = tokens(1, B * T, c.vocabSize()), targets = tokens(2, B * T, c.vocabSize());
        AttentionBiasHook hook = null;
        BiFunction<Integer, double[], double[]> refBias = null;
        TestHooks.Fixed fixed = null;
        if (withBias && c.dms() != null) {
            TestHooks.FromLogits h = new TestHooks.FromLogits(c.layers(), B, T, c.kvHeads(), 0.3);
            hook = h;
            refBias = (l, z) -> h.reference(z);
        } else if (withBias) {
            Rng rng = new Rng(7);
            float[][] bias = new float[c.layers()][B * c.kvHeads() * T * T];
            for (float[] layer : bias) {
                for (int i = 0; i < layer.length; i++) {
                    layer[i] = (float) rng.nextGaussian();
                }
            }
            fixed = new TestHooks.Fixed(bias);
            hook = fixed;
            refBias = (l, z) -> toDouble(bias[l]);
        }
        model.forward(a, in, hook);
        float loss = model.crossEntropy(a, targets, null, 1f / (B * T));
        w.zeroGrad();
        model.backward(a, in, hook);

        ReferenceTransformer ref = new ReferenceTransformer(w);
        double refLoss = ref.loss(in, targets, B, T, refBias);
        assertThat((double) loss)
                .isCloseTo(refLoss, org.assertj.core.api.Assertions.within(1e-5 * Math.max(1, refLoss)));

        Rng pick = new Rng(3);
        double h = 1e-5;
        for (Parameter p : w.parameters()) {
            double[] x = ref.p.get(p.name());
            double gradScale = 0;
            for (float g : p.grad()) {
                gradScale = Math.max(gradScale, Math.abs(g));
            }
            assertThat(gradScale).as(p.name() + " gets a gradient").isGreaterThan(1e-7);
            for (int s = 0; s < 4; s++) {
                int i = pick.nextInt(x.length);
                double saved = x[i];
                x[i] = saved + h;
                double plus = ref.loss(in, targets, B, T, refBias);
                x[i] = saved - h;
                double minus = ref.loss(in, targets, B, T, refBias);
                x[i] = saved;
                double fd = (plus - minus) / (2 * h);
                assertThat(Math.abs(p.grad()[i] - fd))
                        .as("%s[%d]: analytic %g vs finite difference %g", p.name(), i, p.grad()[i], fd)
                        .isLessThanOrEqualTo(2e-3 * gradScale + 1e-7);
            }
        }
        if (fixed != null) {
            // the attention bias is an input too: its gradient against finite differences
            for (int l = 0; l < c.layers(); l++) {
                float[] bias = fixed.bias[l];
                float[] grad = fixed.grad[l];
                double gradScale = 0;
                for (float g : grad) {
                    gradScale = Math.max(gradScale, Math.abs(g));
                }
                for (int s = 0; s < 6; s++) {
                    int bi = pick.nextInt(B),
                            hh = pick.nextInt(c.kvHeads()),
                            q = pick.nextInt(T),
                            k = pick.nextInt(q + 1);
                    int i = ((bi * c.kvHeads() + hh) * T + q) * T + k;
                    float saved = bias[i];
                    double[] plusBias = toDouble(bias), minusBias = toDouble(bias);
                    plusBias[i] = saved + h;
                    minusBias[i] = saved - h;
                    int layer = l;
                    TestHooks.Fixed fx = fixed;
                    double plus =
                            ref.loss(in, targets, B, T, (ll, z) -> ll == layer ? plusBias : toDouble(fx.bias[ll]));
                    double minus =
                            ref.loss(in, targets, B, T, (ll, z) -> ll == layer ? minusBias : toDouble(fx.bias[ll]));
                    double fd = (plus - minus) / (2 * h);
                    assertThat(Math.abs(grad[i] - fd))
                            .as("bias of layer %d [%d]: %g vs %g", l, i, grad[i], fd)
                            .isLessThanOrEqualTo(2e-3 * gradScale + 1e-7);
                }
            }
        }
    }

    static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }
}
