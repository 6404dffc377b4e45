package dev.kvslim.train.ops;

import dev.kvslim.core.tensor.Gemm;
import dev.kvslim.core.tensor.Kernels;

/**
 * A linear layer on a batch of rows, {@code out[N, OC] = inp[N, C] . weight[OC, C]^T + bias[OC]}, weights in
 * PyTorch's {@code out x in} orientation, and its backward. All three products go through {@link Gemm}.
 */
public final class Matmul {

    private Matmul() {}

    /**
     * Forward; {@code weightT} is scratch of at least {@code C * OC} floats (the weight transposed, so the product
     * streams rows of both operands). {@code bias} may be null.
     */
    public static void forward(
            float[] out, float[] inp, float[] weight, float[] bias, int n, int c, int oc, float[] weightT) {
        for (int o = 0; o < oc; o++) {
            for (int i = 0; i < c; i++) {
                weightT[i * oc + o] = weight[o * c + i];
            }
        }
        Gemm.parallel(n, oc, c, inp, 0, c, 1, weightT, 0, oc, out, 0, oc, false);
        if (bias != null) {
            for (int r = 0; r < n; r++) {
                Kernels.add(bias, 0, out, r * oc, oc);
            }
        }
    }

    /**
     * Backward: {@code dinp += dout . weight}, {@code dweight += dout^T . inp}, {@code dbias += column sums of
     * dout}. Any of the three outputs may be null (a frozen weight, a first layer, no bias) and is then skipped.
     */
    public static void backward(
            float[] dinp,
            float[] dweight,
            float[] dbias,
            float[] dout,
            float[] inp,
            float[] weight,
            int n,
            int c,
            int oc) {
        if (dinp != null) {
            Gemm.parallel(n, c, oc, dout, 0, oc, 1, weight, 0, c, dinp, 0, c, true);
        }
        if (dweight != null) {
            Gemm.parallel(oc, c, n, dout, 0, 1, oc, inp, 0, c, dweight, 0, c, true);
        }
        if (dbias != null) {
            for (int r = 0; r < n; r++) {
                Kernels.add(dout, r * oc, dbias, 0, oc);
            }
        }
    }
}
