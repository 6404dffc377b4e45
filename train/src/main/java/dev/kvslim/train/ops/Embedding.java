package dev.kvslim.train.ops;

/** Token embedding lookup, {@code out[r] = table[tokens[r]]}, and its backward (a scatter-add). */
public final class Embedding {

    private Embedding() {}

    public static void forward(float[] out, int[] tokens, float[] table, int n, int c) {
        for (int r = 0; r < n; r++) {
            System.arraycopy(table, tokens[r] * c, out, r * c, c);
        }
    }

    /** {@code dtable[tokens[r]] += dout[r]}, rows in order (repeated tokens sum the same way every time). */
    public static void backward(float[] dtable, float[] dout, int[] tokens, int n, int c) {
        for (int r = 0; r < n; r++) {
            dev.kvslim.core.tensor.Kernels.add(dout, r * c, dtable, tokens[r] * c, c);
        }
    }
}
