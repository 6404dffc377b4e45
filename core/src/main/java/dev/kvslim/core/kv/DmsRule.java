package dev.kvslim.core.kv;

/**
 * Which DMS checkpoints' eviction rule a cache follows. Both mark tokens by a learned decision and keep a marked token
 * {@code k} visible to queries up to {@code k + w}; they differ in which token a decision marks and in prefill
 * (docs/dms.md, section 4).
 */
public enum DmsRule {

    /**
     * NVIDIA Model-Optimizer's reference (the paper's rule, and KVSlim's own retrofits): the decision made at token t
     * marks token t - 1, and prefill is sparse (every prompt query obeys the rule).
     */
    REFERENCE,

    /**
     * shisa-ai/FastDMS's checkpoints: the decision made at token t marks token t itself, and prefill is dense (every
     * prompt token sees every earlier one, marked or not); the rule applies from the first decoded token on, when the
     * marked prompt tokens older than the window leave.
     */
    FASTDMS
}
