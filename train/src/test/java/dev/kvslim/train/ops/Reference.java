package dev.kvslim.train.ops;

import dev.kvslim.core.model.RopeStyle;

/**
 * Plain double-precision forwards of every op, written from the formulas and independent of the F32 kernels:
 * the functions the gradient checks differentiate by central finite differences.
 */
final class Reference {

    private Reference() {}

    static double[] matmul(double[] inp, double[] w, double[] bias, int n, int c, int oc) {
        double[] out = new double[n * oc];
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < oc; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < c; i++) {
                    s += inp[r * c + i] * w[o * c + i];
                }
                out[r * oc + o] = s;
            }
        }
        return out;
    }

    static double[] rmsnorm(double[] x, double[] w, int n, int c, double eps) {
        double[] out = new double[n * c];
        for (int r = 0; r < n; r++) {
            double ss = 0;
            for (int i = 0; i < c; i++) {
                ss += x[r * c + i] * x[r * c + i];
            }
            double rs = 1 / Math.sqrt(ss / c + eps);
            for (int i = 0; i < c; i++) {
                out[r * c + i] = x[r * c + i] * rs * w[i];
            }
        }
        return out;
    }

    static double[] rope(double[] x, int n, int t, int heads, int hs, RopeStyle style, float[] freq) {
        double[] out = x.clone();
        int half = hs / 2;
        for (int r = 0; r < n; r++) {
            int pos = r % t;
            for (int h = 0; h < heads; h++) {
                int base = (r * heads + h) * hs;
                for (int i = 0; i < half; i++) {
                    int a = style == RopeStyle.INTERLEAVED ? base + 2 * i : base + i;
                    int b = style == RopeStyle.INTERLEAVED ? a + 1 : a + half;
                    double angle = (double) pos * freq[i];
                    double c = (float) Math.cos(angle), s = (float) Math.sin(angle);
                    out[a] = x[a] * c - x[b] * s;
                    out[b] = x[a] * s + x[b] * c;
                }
            }
        }
        return out;
    }

    static double[] attention(
            double[] q, double[] k, double[] v, double[] bias, int b, int t, int heads, int kvHeads, int hs) {
        int group = heads / kvHeads, qDim = heads * hs, kvDim = kvHeads * hs;
        double[] out = new double[b * t * qDim];
        double scale = 1 / Math.sqrt(hs);
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < heads; h++) {
                int kvh = h / group;
                for (int i = 0; i < t; i++) {
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int c = 0; c < hs; c++) {
                            dot += q[(bi * t + i) * qDim + h * hs + c] * k[(bi * t + j) * kvDim + kvh * hs + c];
                        }
                        s[j] = dot * scale + (bias == null ? 0 : bias[((bi * kvHeads + kvh) * t + i) * t + j]);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        for (int c = 0; c < hs; c++) {
                            out[(bi * t + i) * qDim + h * hs + c] +=
                                    s[j] / sum * v[(bi * t + j) * kvDim + kvh * hs + c];
                        }
                    }
                }
            }
        }
        return out;
    }

    static double[] swiglu(double[] gate, double[] up) {
        double[] out = new double[gate.length];
        for (int i = 0; i < gate.length; i++) {
            out[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
        }
        return out;
    }

    static double[] logSoftmax(double[] x, int off, int v) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < v; i++) {
            max = Math.max(max, x[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < v; i++) {
            sum += Math.exp(x[off + i] - max);
        }
        double[] out = new double[v];
        for (int i = 0; i < v; i++) {
            out[i] = x[off + i] - max - Math.log(sum);
        }
        return out;
    }

    static double[] crossEntropy(double[] logits, int[] targets, float[] mask, int n, int v) {
        double[] out = new double[n];
        for (int r = 0; r < n; r++) {
            out[r] = mask != null && mask[r] == 0 ? 0 : -logSoftmax(logits, r * v, v)[targets[r]];
        }
        return out;
    }

    static double[] kl(double[] student, double[] teacher, float[] mask, int n, int v) {
        double[] out = new double[n];
        for (int r = 0; r < n; r++) {
            if (mask != null && mask[r] == 0) {
                continue;
            }
            double[] ls = logSoftmax(student, r * v, v), lt = logSoftmax(teacher, r * v, v);
            for (int i = 0; i < v; i++) {
                out[r] += Math.exp(ls[i]) * (ls[i] - lt[i]);
            }
        }
        return out;
    }
}
