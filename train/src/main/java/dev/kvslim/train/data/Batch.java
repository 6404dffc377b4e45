package dev.kvslim.train.data;

import java.util.Arrays;

/**
 * One batch of {@code B} rows of {@code T+1} consecutive token ids ({@link #tokens}), with an optional per-target
 * loss mask ({@code B x T}: 1 to learn position t+1 from 0..t, 0 to skip it). {@link #inputs} and
 * {@link #targets} are the rows split into the model's input (ids 0..T-1) and what it should predict (1..T).
 */
public final class Batch {

    public final int b, t;
    /** {@code [B * (T+1)]}, filled by a {@link TokenSource}. */
    public final int[] tokens;
    /** {@code [B * T]} loss weights; a source sets {@link #hasMask} when it fills them. */
    public final float[] mask;

    public final int[] inputs, targets;
    private boolean hasMask;

    public Batch(int b, int t) {
        this.b = b;
        this.t = t;
        this.tokens = new int[b * (t + 1)];
        this.mask = new float[b * t];
        this.inputs = new int[b * t];
        this.targets = new int[b * t];
    }

    public boolean hasMask() {
        return hasMask;
    }

    /** Whether the source filled {@link #mask} (otherwise every position counts). */
    public void setHasMask(boolean hasMask) {
        this.hasMask = hasMask;
        if (!hasMask) {
            Arrays.fill(mask, 1f);
        }
    }

    /** Splits {@link #tokens} into {@link #inputs} and {@link #targets}. */
    public void split() {
        for (int r = 0; r < b; r++) {
            System.arraycopy(tokens, r * (t + 1), inputs, r * t, t);
            System.arraycopy(tokens, r * (t + 1) + 1, targets, r * t, t);
        }
    }

    /** The mask to pass to the loss (null when every position counts). */
    public float[] maskOrNull() {
        return hasMask ? mask : null;
    }
}
