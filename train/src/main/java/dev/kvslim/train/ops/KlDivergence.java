package dev.kvslim.train.ops;

import dev.kvslim.core.tensor.FastExp;
import dev.kvslim.core.tensor.Parallel;

/**
 * Per-row {@code KL(student || teacher) = sum p_s (log p_s - log p_t)} of two logit sets (the DMS distillation
 * loss, spec pitfall P6: student first), fused with its gradient with respect to the student logits only:
 * {@code p_s * (log p_s - log p_t - KL)}. The teacher gets no gradient.
 */
public final class KlDivergence {

    private KlDivergence() {}

    /**
     * Writes each row's divergence into {@code losses} (unweighted; 0 where {@code mask} is 0; {@code mask} may be
     * null) and {@code scale} times the gradient of the {@code mask}-weighted sum into {@code dstudent}, as
     * {@link CrossEntropy} does.
     */
    public static void forwardBackward(
            float[] losses,
            float[] dstudent,
            float[] student,
            float[] teacher,
            float[] mask,
            int n,
            int v,
            float scale) {
        Parallel.forRange(n, Parallel.grain(v * 8L), (w, start, end) -> {
            for (int r = start; r < end; r++) {
                int off = r * v;
                if (mask != null && mask[r] == 0f) {
                    losses[r] = 0f;
                    java.util.Arrays.fill(dstudent, off, off + v, 0f);
                    continue;
                }
                float lseS = logSumExp(student, off, v);
                float lseT = logSumExp(teacher, off, v);
                float kl = 0f;
                for (int i = 0; i < v; i++) {
                    float ls = student[off + i] - lseS;
                    float diff = ls - (teacher[off + i] - lseT);
                    float ps = FastExp.exp(ls);
                    dstudent[off + i] = ps;
                    kl += ps * diff;
                }
                losses[r] = kl;
                float g = mask == null ? scale : scale * mask[r];
                for (int i = 0; i < v; i++) {
                    float diff = (student[off + i] - lseS) - (teacher[off + i] - lseT);
                    dstudent[off + i] = g * dstudent[off + i] * (diff - kl);
                }
            }
        });
    }

    private static float logSumExp(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += FastExp.exp(x[off + i] - max);
        }
        return max + (float) StrictMath.log(sum);
    }
}
