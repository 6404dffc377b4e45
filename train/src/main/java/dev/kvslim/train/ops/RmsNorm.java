package dev.kvslim.train.ops;

import dev.kvslim.core.tensor.Kernels;
import dev.kvslim.core.tensor.Parallel;

/**
 * RMSNorm over rows of {@code C}: {@code out = x * rstd * weight} with {@code rstd = 1/sqrt(mean(x^2) + eps)},
 * computed as the engine's {@link Kernels#rmsnorm} does, and its backward.
 */
public final class RmsNorm {

    private RmsNorm() {}

    /** Forward over {@code n} rows; keeps each row's {@code rstd} for the backward. */
    public static void forward(float[] out, float[] rstd, float[] inp, float[] weight, int n, int c, float eps) {
        Parallel.forRange(n, Parallel.grain(c * 3L), (w, start, end) -> {
            for (int r = start; r < end; r++) {
                float ss = Kernels.dot(inp, r * c, inp, r * c, c);
                rstd[r] = (float) (1.0 / Math.sqrt(ss / c + eps));
                Kernels.rmsnorm(out, r * c, inp, r * c, weight, c, eps);
            }
        });
    }

    /**
     * Backward: {@code dinp += rstd * w * dout - x * rstd^3 / C * sum(dout * w * x)} and
     * {@code dweight += sum over rows of dout * x * rstd}. {@code dweight} may be null (frozen).
     */
    public static void backward(
            float[] dinp, float[] dweight, float[] dout, float[] inp, float[] weight, float[] rstd, int n, int c) {
        Parallel.forRange(n, Parallel.grain(c * 6L), (w, start, end) -> {
            for (int r = start; r < end; r++) {
                int off = r * c;
                float s = rstd[r];
                float dot = 0f;
                for (int i = 0; i < c; i++) {
                    dot += dout[off + i] * weight[i] * inp[off + i];
                }
                float k = dot * s * s * s / c;
                for (int i = 0; i < c; i++) {
                    dinp[off + i] += s * weight[i] * dout[off + i] - k * inp[off + i];
                }
            }
        });
        if (dweight != null) {
            for (int r = 0; r < n; r++) {
                int off = r * c;
                float s = rstd[r];
                for (int i = 0; i < c; i++) {
                    dweight[i] += dout[off + i] * inp[off + i] * s;
                }
            }
        }
    }
}
