package dev.kvslim.core.model;

import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.Kernels;

/**
 * Computes DMS decision logits, one per KV head and token (docs/dms.md, section 2.1). Decision {@code z > 0}
 * marks the token before.
 */
public final class DmsDecisions {

    private DmsDecisions() {}

    /**
     * Variant A for one token: for each KV head j, the last channel of query head j*group (from {@code qOff}, after
     * any query norm, before RoPE) scaled and offset becomes {@code out[outOff + j]}, and is zeroed in the query.
     * Call {@link #zeroQueryChannels} again after RoPE, which can rotate a value into it from its partner channel.
     */
    public static void fromQueryChannel(float[] q, int qOff, LlamaConfig c, float[] out, int outOff) {
        DmsConfig dms = c.dms();
        for (int j = 0; j < c.kvHeads(); j++) {
            int at = qOff + j * c.groupSize() * c.headSize() + c.headSize() - 1;
            out[outOff + j] = dms.scale() * q[at] - dms.offset();
            q[at] = 0f;
        }
    }

    /** Zeroes the decision channel of the first query head of every group of one token. */
    public static void zeroQueryChannels(float[] q, int qOff, LlamaConfig c) {
        for (int j = 0; j < c.kvHeads(); j++) {
            q[qOff + j * c.groupSize() * c.headSize() + c.headSize() - 1] = 0f;
        }
    }

    /**
     * Variant B for one token: {@code z_j = scale * (proj row j . RMSNorm(h; norm)) - offset} on the layer input
     * {@code h = x[xOff .. xOff+dim)}, using {@code normed} (dim floats) as scratch.
     */
    public static void fromAdapter(
            float[] x,
            int xOff,
            float[] norm,
            FloatTensor proj,
            LlamaConfig c,
            float[] normed,
            float[] out,
            int outOff) {
        DmsConfig dms = c.dms();
        Kernels.rmsnorm(normed, 0, x, xOff, norm, c.dim(), c.normEps());
        for (int j = 0; j < c.kvHeads(); j++) {
            out[outOff + j] = dms.scale() * proj.dot(j, normed, 0) - dms.offset();
        }
    }
}
