package dev.kvslim.train.optim;

import dev.kvslim.train.model.Parameter;
import java.util.List;

/** Clipping by global norm: the L2 norm over every unfrozen gradient, and the factor that brings it to the limit. */
public final class GradientClipping {

    private GradientClipping() {}

    /** L2 norm of all unfrozen gradients (summed in double, in parameter order). */
    public static double globalNorm(List<Parameter> params) {
        double ss = 0;
        for (Parameter p : params) {
            if (p.frozen()) {
                continue;
            }
            double s = 0;
            for (float g : p.grad()) {
                s += (double) g * g;
            }
            ss += s;
        }
        return Math.sqrt(ss);
    }

    /** Factor for the gradients so their norm is at most {@code maxNorm} (1 when {@code maxNorm <= 0}: no clipping). */
    public static float scale(double norm, double maxNorm) {
        if (maxNorm <= 0 || norm <= maxNorm || !(norm > 0)) {
            return 1f;
        }
        return (float) (maxNorm / (norm + 1e-6));
    }
}
