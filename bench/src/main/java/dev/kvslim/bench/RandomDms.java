package dev.kvslim.bench;

import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.LlamaWeights;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.Tensors;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Models retrofitted with a random DMS adapter of a chosen eviction rate: what the benchmarks measure DMS's costs and
 * savings with when no trained DMS model is at hand (the tokens evicted are random, so the text is not the point).
 */
public final class RandomDms {

    private RandomDms() {}

    /**
     * {@code base} with a random DMS adapter marking about 1 - 1/ratio of the tokens (none for ratio 1), its weights in
     * {@code arena}.
     */
    public static Model retrofit(Model base, int ratio, Arena arena) {
        LlamaConfig c = base.config();
        double p = 1 - 1.0 / ratio;
        // z = 100 * N(0, 1) - offset marks a token with probability P(N(0,1) > offset / 100)
        float offset = ratio == 1 ? 1000f : (float) (100 * inverseNormal(1 - p));
        LlamaConfig dc = c.withDms(new DmsConfig(16, 100f, offset, DmsConfig.Variant.ADAPTER, false));
        SplittableRandom rnd = new SplittableRandom(3);
        float[][] norm = new float[c.layers()][c.dim()];
        FloatTensor[] proj = new FloatTensor[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            Arrays.fill(norm[l], 1f);
            float[] w = new float[c.kvHeads() * c.dim()];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (rnd.nextGaussian() / Math.sqrt(c.dim()));
            }
            proj[l] = Tensors.f32(arena, w, c.kvHeads(), c.dim());
        }
        LlamaWeights weights = base.weights().withDmsAdapter(norm, proj);
        return new Model(dc, weights);
    }

    /** The standard normal quantile (Acklam's rational approximation, good to 1e-9). */
    static double inverseNormal(double p) {
        double[] a = {
            -3.969683028665376e+01,
            2.209460984245205e+02,
            -2.759285104469687e+02,
            1.383577518672690e+02,
            -3.066479806614716e+01,
            2.506628277459239e+00
        };
        double[] b = {
            -5.447609879822406e+01,
            1.615858368580409e+02,
            -1.556989798598866e+02,
            6.680131188771972e+01,
            -1.328068155288572e+01
        };
        double[] c = {
            -7.784894002430293e-03,
            -3.223964580411365e-01,
            -2.400758277161838e+00,
            -2.549732539343734e+00,
            4.374664141464968e+00,
            2.938163982698783e+00
        };
        double[] d = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00};
        double q;
        if (p < 0.02425) {
            q = Math.sqrt(-2 * Math.log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                    / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        if (p > 1 - 0.02425) {
            return -inverseNormal(1 - p);
        }
        q = p - 0.5;
        double r = q * q;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
                * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
}
