package dev.kvslim.train.model;

import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.train.ops.Attention;

/**
 * Everything a training step writes, sized once by (config, B, T), so steps allocate nothing: the activations
 * the backward reads ({@code [layer][B*T*width]}, rows in batch-major order), and one set of gradient buffers
 * reused layer after layer.
 */
public final class Activations {

    public final int b, t, n;
    final float[][] residual; // [L+1][N*C]: input of each layer, then the last layer's output
    final float[][] residualMid; // [L][N*C]: after attention
    final float[][] ln1, ln1Rstd, ln2, ln2Rstd;
    final float[][] q, k, v, att, lse;
    final float[][] gate, up, act;
    final float[][] dmsNormed, dmsRstd;
    /** Per layer DMS decision logits {@code z}, {@code [B*T, KVH]} (null without DMS). */
    public final float[][] decisionLogits;

    final float[][] bias;
    final float[] lnf, lnfRstd;
    /** {@code [B*T, V]} logits of the latest forward. */
    public final float[] logits;
    /** {@code [B*T, V]} gradient of the loss w.r.t. the logits: the loss function writes it, the backward reads it. */
    public final float[] dlogits;
    /** {@code [B*T]} per-position loss of the latest loss evaluation. */
    public final float[] losses;

    final float[] dres, dln, dq, dk, dv, datt, dact, dgate, dup, dz, dzScaled, dbias, tmp, weightT;
    final float[] ropeCos, ropeSin;
    final Attention.Scratch attention;

    public Activations(LlamaConfig c, int b, int t, boolean withBias) {
        if (b <= 0 || t <= 0) {
            throw new IllegalArgumentException("batch and sequence length must be positive, got B=" + b + ", T=" + t);
        }
        long total = (long) b * t;
        if (total * Math.max(c.vocabSize(), c.hiddenDim()) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("B*T*width exceeds 2^31 floats: B=" + b + ", T=" + t);
        }
        this.b = b;
        this.t = t;
        this.n = b * t;
        int L = c.layers(), dim = c.dim(), qDim = c.qDim(), kvDim = c.kvDim(), hid = c.hiddenDim();
        boolean dms = c.dms() != null;
        boolean adapter = dms && c.dms().variant() == dev.kvslim.core.model.DmsConfig.Variant.ADAPTER;
        residual = new float[L + 1][n * dim];
        residualMid = new float[L][n * dim];
        ln1 = new float[L][n * dim];
        ln1Rstd = new float[L][n];
        ln2 = new float[L][n * dim];
        ln2Rstd = new float[L][n];
        q = new float[L][n * qDim];
        k = new float[L][n * kvDim];
        v = new float[L][n * kvDim];
        att = new float[L][n * qDim];
        lse = new float[L][b * c.heads() * t];
        gate = new float[L][n * hid];
        up = new float[L][n * hid];
        act = new float[L][n * hid];
        dmsNormed = adapter ? new float[L][n * dim] : null;
        dmsRstd = adapter ? new float[L][n] : null;
        decisionLogits = dms ? new float[L][n * c.kvHeads()] : null;
        bias = new float[L][];
        lnf = new float[n * dim];
        lnfRstd = new float[n];
        logits = new float[n * c.vocabSize()];
        dlogits = new float[n * c.vocabSize()];
        losses = new float[n];
        dres = new float[n * dim];
        dln = new float[n * dim];
        dq = new float[n * qDim];
        dk = new float[n * kvDim];
        dv = new float[n * kvDim];
        datt = new float[n * qDim];
        dact = new float[n * hid];
        dgate = new float[n * hid];
        dup = new float[n * hid];
        dz = new float[n * c.kvHeads()];
        dzScaled = new float[n * c.kvHeads()];
        dbias = withBias ? new float[b * c.kvHeads() * t * t] : null;
        tmp = new float[n * dim];
        weightT = new float[dim * Math.max(Math.max(hid, qDim), c.vocabSize())];
        int half = c.headSize() / 2;
        ropeCos = new float[t * half];
        ropeSin = new float[t * half];
        dev.kvslim.train.ops.Rope.angles(c.ropeFrequencies(), t, ropeCos, ropeSin);
        attention = new Attention.Scratch(t, c.headSize());
    }
}
