package dev.kvslim.train.loop;

import dev.kvslim.train.data.Batch;
import dev.kvslim.train.model.Activations;
import dev.kvslim.train.model.Transformer;

/**
 * One micro-batch's loss and gradients: runs the model forward on the batch, computes the loss, and runs the
 * backward so that the gradient of {@code scale * loss} is added to the parameters. Next-token cross-entropy is
 * {@link NextTokenLoss}; the DMS retrofit plugs in its own (student forward with an attention-bias hook, KL against
 * a teacher's logits, a compression hinge) without the trainer changing.
 */
public interface LossFunction {

    /** Returns the micro-batch's loss (for logging). */
    float microStep(Transformer model, Activations acts, Batch batch, float scale);

    /**
     * Called before each micro-batch with the 0-based optimiser step and micro-batch index (what a loss with its
     * own randomness or schedule, like the DMS retrofit's, derives them from, so a resumed run repeats them).
     */
    default void beginMicroStep(int step, int micro) {}

    /** Whether the activations need room for an attention-bias gradient. */
    default boolean usesAttentionBias() {
        return false;
    }
}
