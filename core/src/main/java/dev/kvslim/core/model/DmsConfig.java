package dev.kvslim.core.model;

import dev.kvslim.core.kv.DmsRule;

/**
 * Dynamic Memory Sparsification settings of a retrofitted model (docs/dms.md, section 2).
 * The decision logit of KV head j at token t is {@code z = scale * a - offset}, where {@code a} is either the
 * last channel of the first query head of j's group ({@link Variant#QUERY_CHANNEL}, read after any query norm,
 * before RoPE, and zeroed before and after RoPE) or a zero-initialised adapter {@code Linear(RMSNorm(h))} of the
 * layer input ({@link Variant#ADAPTER}). Token t's decision {@code z > 0} marks token t-1, which then stays
 * visible to queries up to {@code window} positions later and is evicted after.
 *
 * @param window   w: a marked token k stays visible to queries k .. k+w
 * @param scale    logit multiplier (100 in the reference)
 * @param offset   subtracted from the scaled logit (5 in the reference)
 * @param variant  where the logit comes from
 * @param perLayer every KV head of a layer takes head 0's decision ({@code dms_alpha_per = "layer"})
 * @param rule     whose rule the decisions follow: the reference's (a decision marks the token before; the borrowed
 *                 query channel zeroed before and after RoPE) or FastDMS's (a decision marks its own token; the channel
 *                 zeroed before RoPE only; dense prefill)
 */
public record DmsConfig(int window, float scale, float offset, Variant variant, boolean perLayer, DmsRule rule) {

    /** Settings under the reference rule. */
    public DmsConfig(int window, float scale, float offset, Variant variant, boolean perLayer) {
        this(window, scale, offset, variant, perLayer, DmsRule.REFERENCE);
    }

    /** Where the decision logit comes from. */
    public enum Variant {
        QUERY_CHANNEL,
        ADAPTER
    }

    public DmsConfig {
        if (window < 0) {
            throw new IllegalArgumentException("DMS window must be >= 0, got " + window);
        }
        if (!Float.isFinite(scale) || !Float.isFinite(offset)) {
            throw new IllegalArgumentException("DMS scale and offset must be finite");
        }
        java.util.Objects.requireNonNull(rule, "rule");
    }
}
