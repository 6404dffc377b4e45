package dev.kvslim.train.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.function.Function;

/**
 * Central finite differences in double precision: the derivative of {@code sum(dout * f(inputs))} with respect
 * to elements of one input, compared with an analytic (F32) gradient.
 */
final class GradCheck {

    private GradCheck() {}

    static float[] random(Random rnd, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextGaussian() * scale);
        }
        return x;
    }

    static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }

    /** Checks that the F32 forward {@code actual} matches the double reference {@code expected}. */
    static void assertClose(String what, float[] actual, double[] expected, double tol) {
        double scale = 0, err = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(actual[i] - expected[i]));
        }
        assertThat(err)
                .as(what + ": max abs error %g at scale %g", err, scale)
                .isLessThanOrEqualTo(tol * Math.max(1, scale));
    }

    /**
     * Asserts that {@code grad} (F32 analytic) matches the finite-difference gradient of
     * {@code sum(dout * f(inputs))} with respect to {@code inputs[which]}, within {@code tol} times the largest
     * gradient (every element checked).
     */
    static void check(
            String what,
            double[][] inputs,
            int which,
            Function<double[][], double[]> f,
            float[] dout,
            float[] grad,
            double tol) {
        double h = 1e-6;
        double[] x = inputs[which];
        double[] fd = new double[x.length];
        double scale = 1e-12;
        for (int i = 0; i < x.length; i++) {
            double saved = x[i];
            x[i] = saved + h;
            double plus = project(f.apply(inputs), dout);
            x[i] = saved - h;
            double minus = project(f.apply(inputs), dout);
            x[i] = saved;
            fd[i] = (plus - minus) / (2 * h);
            scale = Math.max(scale, Math.abs(fd[i]));
        }
        double err = 0;
        int worst = 0;
        for (int i = 0; i < x.length; i++) {
            double e = Math.abs(grad[i] - fd[i]);
            if (e > err) {
                err = e;
                worst = i;
            }
        }
        assertThat(err / scale)
                .as(
                        "%s: worst element %d: analytic %g vs finite difference %g (gradient scale %g)",
                        what, worst, grad[worst], fd[worst], scale)
                .isLessThanOrEqualTo(tol);
        assertThat(scale).as(what + ": gradient is not trivially zero").isGreaterThan(1e-6);
    }

    static double project(double[] y, float[] dout) {
        double s = 0;
        for (int i = 0; i < y.length; i++) {
            s += y[i] * (dout == null ? 1 : dout[i]);
        }
        return s;
    }
}
