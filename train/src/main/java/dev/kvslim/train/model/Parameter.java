package dev.kvslim.train.model;

/**
 * One named trainable tensor, in F32 (the master weights), with its gradient. Names are the Hugging Face names
 * the model is saved under ({@code model.layers.0.self_attn.q_proj.weight}), so freeze patterns, checkpoints and
 * the saved model all speak the same language. Shapes are PyTorch's ({@code out x in} for matrices).
 */
public final class Parameter {

    private final String name;
    private final int[] shape;
    private final float[] data;
    private final float[] grad;
    private final Kind kind;
    private boolean frozen;
    private float lrScale = 1f;

    /** What a tensor is, for initialisation and weight decay. */
    public enum Kind {
        MATRIX,
        EMBEDDING,
        NORM,
        BIAS
    }

    public Parameter(String name, Kind kind, int... shape) {
        this.name = name;
        this.kind = kind;
        this.shape = shape.clone();
        int n = 1;
        for (int d : shape) {
            n = Math.multiplyExact(n, d);
        }
        this.data = new float[n];
        this.grad = new float[n];
    }

    public String name() {
        return name;
    }

    public int[] shape() {
        return shape.clone();
    }

    public Kind kind() {
        return kind;
    }

    public float[] data() {
        return data;
    }

    public float[] grad() {
        return grad;
    }

    public int size() {
        return data.length;
    }

    public boolean frozen() {
        return frozen;
    }

    public void setFrozen(boolean frozen) {
        this.frozen = frozen;
    }

    /** What the optimiser multiplies its learning rate by for this parameter (1 unless set). */
    public float lrScale() {
        return lrScale;
    }

    public void setLrScale(float lrScale) {
        if (!(lrScale >= 0) || !Float.isFinite(lrScale)) {
            throw new IllegalArgumentException("learning-rate scale must be finite and >= 0, got " + lrScale);
        }
        this.lrScale = lrScale;
    }

    /** The gradient to write into during backward, or null when frozen (the backward then skips it). */
    public float[] gradOrNull() {
        return frozen ? null : grad;
    }

    @Override
    public String toString() {
        return name + java.util.Arrays.toString(shape);
    }
}
