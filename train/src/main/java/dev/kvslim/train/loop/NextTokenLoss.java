package dev.kvslim.train.loop;

import dev.kvslim.train.data.Batch;
import dev.kvslim.train.model.Activations;
import dev.kvslim.train.model.Transformer;

/** Next-token cross-entropy averaged with the batch's mask as position weights (all 1 without a mask). */
public final class NextTokenLoss implements LossFunction {

    @Override
    public float microStep(Transformer model, Activations acts, Batch batch, float scale) {
        model.forward(acts, batch.inputs, null);
        float[] mask = batch.maskOrNull();
        double weights = 0;
        for (int i = 0; i < acts.n; i++) {
            weights += mask == null ? 1 : mask[i];
        }
        float loss = model.crossEntropy(acts, batch.targets, mask, weights == 0 ? 0f : (float) (scale / weights));
        model.backward(acts, batch.inputs, null);
        return loss;
    }
}
