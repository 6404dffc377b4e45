package dev.kvslim.core.testing;

import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.Tensors;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;

/** Tiny DMS models for tests: any model retrofitted with a DMS adapter of known weights. */
public final class DmsAdapters {

    private DmsAdapters() {}

    /**
     * {@code base} with a DMS adapter: zero projections (no token is ever marked, z = -5) or seeded random ones with
     * offset 0, which mark about half the tokens, differently per head.
     */
    public static Model withAdapter(Model base, int window, boolean perLayer, boolean zero) {
        LlamaConfig c =
                base.config().withDms(new DmsConfig(window, 100f, zero ? 5f : 0f, DmsConfig.Variant.ADAPTER, perLayer));
        SplittableRandom rnd = new SplittableRandom(12);
        float[][] norm = new float[c.layers()][c.dim()];
        FloatTensor[] proj = new FloatTensor[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            Arrays.fill(norm[l], 1f);
            float[] p = new float[c.kvHeads() * c.dim()];
            for (int i = 0; i < p.length && !zero; i++) {
                p[i] = (float) rnd.nextGaussian() * 0.1f;
            }
            proj[l] = Tensors.f32(Arena.ofAuto(), p, c.kvHeads(), c.dim());
        }
        return new Model(c, base.weights().withDmsAdapter(norm, proj));
    }
}
