package dev.kvslim.train.optim;

import dev.kvslim.train.model.Parameter;
import java.util.List;

/**
 * AdamW (Loshchilov and Hutter; PyTorch's {@code torch.optim.AdamW}): Adam moments with bias correction, and
 * weight decay decoupled from the gradient ({@code p -= lr * wd * p} before the Adam step). Decay applies to
 * matrices and embeddings only, never to norm weights or biases (GPT-2 / llm.c practice: decaying a norm's gain
 * towards 0 or a bias towards 0 has no regularising meaning). Frozen parameters are left alone and their moments
 * stay 0. The state (moments, step) lives here in F32 and goes into checkpoints whole.
 */
public final class AdamW {

    private final List<Parameter> params;
    private final float beta1, beta2, eps, weightDecay;
    private final float[][] m, v;
    private long step;

    public AdamW(List<Parameter> params, float beta1, float beta2, float eps, float weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("AdamW needs 0 <= beta < 1, eps > 0, weight decay >= 0; got betas "
                    + beta1 + ", " + beta2 + ", eps " + eps + ", weight decay " + weightDecay);
        }
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.m = new float[params.size()][];
        this.v = new float[params.size()][];
        for (int i = 0; i < params.size(); i++) {
            m[i] = new float[params.get(i).size()];
            v[i] = new float[params.get(i).size()];
        }
    }

    /** Whether weight decay applies to {@code p}. */
    public static boolean decays(Parameter p) {
        return p.kind() == Parameter.Kind.MATRIX || p.kind() == Parameter.Kind.EMBEDDING;
    }

    /**
     * One update with learning rate {@code baseLr} (times each parameter's {@link Parameter#lrScale}) from the
     * parameters' current gradients, times {@code gradScale}.
     */
    public void step(float baseLr, float gradScale) {
        step++;
        float c1 = (float) (1 - Math.pow(beta1, (double) step));
        float c2 = (float) (1 - Math.pow(beta2, (double) step));
        for (int t = 0; t < params.size(); t++) {
            Parameter p = params.get(t);
            if (p.frozen()) {
                continue;
            }
            float[] w = p.data(), g = p.grad(), mt = m[t], vt = v[t];
            float lr = baseLr * p.lrScale();
            float decay = decays(p) ? 1 - lr * weightDecay : 1;
            for (int i = 0; i < w.length; i++) {
                float grad = g[i] * gradScale;
                mt[i] = beta1 * mt[i] + (1 - beta1) * grad;
                vt[i] = beta2 * vt[i] + (1 - beta2) * grad * grad;
                float mhat = mt[i] / c1, vhat = vt[i] / c2;
                w[i] = w[i] * decay - lr * mhat / ((float) Math.sqrt(vhat) + eps);
            }
        }
    }

    public long stepCount() {
        return step;
    }

    public void setStepCount(long step) {
        this.step = step;
    }

    /** First moments, one array per parameter in the parameter order (the live arrays, for checkpoints). */
    public float[][] firstMoments() {
        return m;
    }

    /** Second moments, as {@link #firstMoments}. */
    public float[][] secondMoments() {
        return v;
    }
}
