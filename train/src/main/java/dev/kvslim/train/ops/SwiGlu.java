package dev.kvslim.train.ops;

import dev.kvslim.core.tensor.FastExp;
import dev.kvslim.core.tensor.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** The gated feed-forward activation {@code out = silu(gate) * up}, {@code silu(g) = g * sigmoid(g)}, and its backward. */
public final class SwiGlu {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private SwiGlu() {}

    public static void forward(float[] out, float[] gate, float[] up, int n) {
        Parallel.forRange(n / L + 1, Parallel.grain(L * 8L), (w, start, end) -> {
            int i = start * L, stop = Math.min(n, end * L);
            for (; i + L <= stop; i += L) {
                FloatVector g = FloatVector.fromArray(F, gate, i);
                FloatVector s =
                        FloatVector.broadcast(F, 1f).div(FastExp.exp(g.neg()).add(1f));
                g.mul(s).mul(FloatVector.fromArray(F, up, i)).intoArray(out, i);
            }
            for (; i < stop; i++) {
                float g = gate[i];
                out[i] = g * (1f / (1f + FastExp.exp(-g))) * up[i];
            }
        });
    }

    /** {@code dgate = dout * up * silu'(gate)}, {@code dup = dout * silu(gate)} (both overwritten). */
    public static void backward(float[] dgate, float[] dup, float[] dout, float[] gate, float[] up, int n) {
        Parallel.forRange(n / L + 1, Parallel.grain(L * 12L), (w, start, end) -> {
            int i = start * L, stop = Math.min(n, end * L);
            for (; i + L <= stop; i += L) {
                FloatVector g = FloatVector.fromArray(F, gate, i);
                FloatVector s =
                        FloatVector.broadcast(F, 1f).div(FastExp.exp(g.neg()).add(1f));
                FloatVector d = FloatVector.fromArray(F, dout, i);
                FloatVector silu = g.mul(s);
                // silu'(g) = s * (1 + g * (1 - s))
                FloatVector deriv = s.mul(g.mul(s.neg().add(1f)).add(1f));
                d.mul(FloatVector.fromArray(F, up, i)).mul(deriv).intoArray(dgate, i);
                d.mul(silu).intoArray(dup, i);
            }
            for (; i < stop; i++) {
                float g = gate[i];
                float s = 1f / (1f + FastExp.exp(-g));
                dgate[i] = dout[i] * up[i] * (s * (g * (1f - s) + 1f));
                dup[i] = dout[i] * (g * s);
            }
        });
    }
}
