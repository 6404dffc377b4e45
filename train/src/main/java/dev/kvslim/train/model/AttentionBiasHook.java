package dev.kvslim.train.model;

/**
 * Supplies the additive attention bias of each layer during a forward pass and receives its gradient during the
 * backward, turning it into a gradient of that layer's DMS decision logits. This is where the DMS retrofit plugs
 * in (spec 3.2: logistic noise, {@code p = sigmoid((z+g)/tau)}, bias {@code log(1-p)} beyond the window), without
 * the model knowing about it.
 */
public interface AttentionBiasHook {

    /**
     * The bias of layer {@code layer}, {@code [B, KVH, T, T]} (query-major), or null for none. {@code logits} are
     * the layer's decision logits {@code z} ({@code [B*T, KVH]}), or null when the model has no DMS decision
     * source. The returned array must stay unchanged until {@link #backward} of the same layer.
     */
    float[] forward(int layer, float[] logits);

    /**
     * Gradient of the loss with respect to the bias this hook returned for {@code layer} ({@code dbias}, null if
     * it returned none), to be turned into {@code dlogits} (same shape as the logits; zeroed before the call, the
     * hook adds into it, including any loss of its own on the decisions).
     */
    void backward(int layer, float[] dbias, float[] dlogits);
}
