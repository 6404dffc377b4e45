package dev.kvslim.train.model;

/** Attention-bias hooks for tests: a fixed bias, or one that depends linearly on the decision logits. */
final class TestHooks {

    private TestHooks() {}

    /** The same bias {@code [B, KVH, T, T]} for every layer; records the gradients it gets. */
    static final class Fixed implements AttentionBiasHook {
        final float[][] bias;
        final float[][] grad;

        Fixed(float[][] perLayer) {
            this.bias = perLayer;
            this.grad = new float[perLayer.length][];
        }

        @Override
        public float[] forward(int layer, float[] logits) {
            return bias[layer];
        }

        @Override
        public void backward(int layer, float[] dbias, float[] dlogits) {
            grad[layer] = dbias.clone();
        }
    }

    /** {@code bias[b, h, q, k] = scale * z[b*T + k, h]}: key k's logit biases every query. */
    static final class FromLogits implements AttentionBiasHook {
        final int b, t, kvHeads;
        final double scale;
        final float[][] bias;

        FromLogits(int layers, int b, int t, int kvHeads, double scale) {
            this.b = b;
            this.t = t;
            this.kvHeads = kvHeads;
            this.scale = scale;
            this.bias = new float[layers][b * kvHeads * t * t];
        }

        @Override
        public float[] forward(int layer, float[] z) {
            float[] out = bias[layer];
            for (int bi = 0; bi < b; bi++) {
                for (int h = 0; h < kvHeads; h++) {
                    for (int q = 0; q < t; q++) {
                        for (int k = 0; k < t; k++) {
                            out[((bi * kvHeads + h) * t + q) * t + k] = (float) (scale * z[(bi * t + k) * kvHeads + h]);
                        }
                    }
                }
            }
            return out;
        }

        double[] reference(double[] z) {
            double[] out = new double[b * kvHeads * t * t];
            for (int bi = 0; bi < b; bi++) {
                for (int h = 0; h < kvHeads; h++) {
                    for (int q = 0; q < t; q++) {
                        for (int k = 0; k < t; k++) {
                            out[((bi * kvHeads + h) * t + q) * t + k] = scale * z[(bi * t + k) * kvHeads + h];
                        }
                    }
                }
            }
            return out;
        }

        @Override
        public void backward(int layer, float[] dbias, float[] dz) {
            for (int bi = 0; bi < b; bi++) {
                for (int h = 0; h < kvHeads; h++) {
                    for (int q = 0; q < t; q++) {
                        for (int k = 0; k < t; k++) {
                            dz[(bi * t + k) * kvHeads + h] +=
                                    (float) (scale * dbias[((bi * kvHeads + h) * t + q) * t + k]);
                        }
                    }
                }
            }
        }
    }
}
