package dev.kvslim.core.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code exp(x)} in F32 from IEEE operations only (fma, add, multiply, exact conversions), once for vectors and
 * once, operation for operation the same, for scalars. The Vector API's own {@code EXP} and {@code Math.exp}
 * may give different last bits interpreted and compiled, which would make training steps depend on JIT
 * warm-up; this gives the same bits everywhere, so a resumed run reproduces an uninterrupted one exactly.
 * Cephes' expf: range reduction by ln 2 in two parts, a degree-6 polynomial, relative error about 1e-7. Used by
 * training, and by inference's softmax and SwiGLU (where {@code Math.exp} one value at a time took 14% of prefill).
 */
public final class FastExp {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float MAGIC = 12582912f; // 1.5 * 2^23: adding it rounds to an integer
    private static final float LO = -87.0f;
    private static final float HI = 88.0f;
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;

    private FastExp() {}

    /** exp of every lane; lanes below -87 give 0, above 88 give exp(88). */
    public static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(LO).min(HI);
        FloatVector n = xc.fma(FloatVector.broadcast(F, LOG2E), FloatVector.broadcast(F, MAGIC))
                .sub(MAGIC);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(F, P0), FloatVector.broadcast(F, P1));
        p = p.fma(r, FloatVector.broadcast(F, P2));
        p = p.fma(r, FloatVector.broadcast(F, P3));
        p = p.fma(r, FloatVector.broadcast(F, P4));
        p = p.fma(r, FloatVector.broadcast(F, P5));
        FloatVector r2 = r.mul(r);
        p = p.fma(r2, r.add(1f));
        IntVector bits =
                ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector result = p.mul(bits.reinterpretAsFloats());
        return result.blend(0f, x.compare(VectorOperators.LT, LO));
    }

    /** The same computation as {@link #exp(FloatVector)} for one value. */
    public static float exp(float x) {
        if (x < LO) {
            return 0f;
        }
        float xc = Math.min(x, HI);
        float n = Math.fma(xc, LOG2E, MAGIC) - MAGIC;
        float r = Math.fma(n, -LN2_HI, xc);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, P0, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float r2 = r * r;
        p = Math.fma(p, r2, r + 1f);
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    /** {@code x[off+i] = exp(x[off+i] - shift)} for {@code i < n}, returning the sum of the results in a fixed order. */
    public static float expShiftSum(float[] x, int off, int n, float shift) {
        int i = 0;
        int bound = F.loopBound(n);
        FloatVector acc = FloatVector.zero(F);
        for (; i < bound; i += F.length()) {
            FloatVector e = exp(FloatVector.fromArray(F, x, off + i).sub(shift));
            e.intoArray(x, off + i);
            acc = acc.add(e);
        }
        float sum = Kernels.sum(acc);
        for (; i < n; i++) {
            float e = exp(x[off + i] - shift);
            x[off + i] = e;
            sum += e;
        }
        return sum;
    }
}
