package dev.kvslim.train.loop;

import dev.kvslim.train.data.Batch;
import dev.kvslim.train.model.Activations;
import dev.kvslim.train.model.Transformer;

/** Mean next-token cross-entropy over the positions the batch's mask keeps (all of them without a mask). */
public final class NextTokenLoss implements LossFunction {

    @Override
    public float microStep(Transformer model, Activations acts, Batch batch, float scale) {
        model.forward(acts, batch.inputs, null);
        float[] mask = batch.maskOrNull();
        int count = 0;
        for (int i = 0; i < acts.n; i++) {
            if (mask == null || mask[i] != 0f) {
                count++;
            }
        }
        float loss = model.crossEntropy(acts, batch.targets, mask, count == 0 ? 0f : scale / count);
        model.backward(acts, batch.inputs, null);
        return loss;
    }
}
