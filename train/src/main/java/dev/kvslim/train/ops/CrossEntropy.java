package dev.kvslim.train.ops;

import dev.kvslim.core.tensor.FastExp;
import dev.kvslim.core.tensor.Parallel;

/**
 * Softmax cross-entropy of rows of logits against target ids, fused with its backward as llm.c does: the
 * gradient of {@code scale * sum of losses} is {@code scale * (softmax - onehot)}.
 */
public final class CrossEntropy {

    private CrossEntropy() {}

    /**
     * Writes each row's loss {@code -log softmax(logits)[target]} into {@code losses} (0 where {@code mask} is 0;
     * {@code mask} may be null) and {@code scale * mask[r] * (softmax - onehot)} into {@code dlogits}: the mask is a
     * per-row loss weight (0 skips the row; scale 0 evaluates only).
     */
    public static void forwardBackward(
            float[] losses, float[] dlogits, float[] logits, int[] targets, float[] mask, int n, int v, float scale) {
        Parallel.forRange(n, Parallel.grain(v * 4L), (w, start, end) -> {
            for (int r = start; r < end; r++) {
                int off = r * v;
                float weight = mask == null ? 1f : mask[r];
                if (weight == 0f) {
                    losses[r] = 0f;
                    java.util.Arrays.fill(dlogits, off, off + v, 0f);
                    continue;
                }
                float max = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < v; i++) {
                    max = Math.max(max, logits[off + i]);
                }
                int tgt = targets[r];
                System.arraycopy(logits, off, dlogits, off, v);
                float sum = FastExp.expShiftSum(dlogits, off, v, max);
                losses[r] = (float) (StrictMath.log(sum) - (logits[off + tgt] - max));
                float rowScale = scale * weight;
                float inv = rowScale / sum;
                for (int i = 0; i < v; i++) {
                    dlogits[off + i] *= inv;
                }
                dlogits[off + tgt] -= rowScale;
            }
        });
    }
}
