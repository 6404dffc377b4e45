package dev.kvslim.eval.result;

import dev.kvslim.core.kv.KvCacheSpec;
import java.util.Objects;

/**
 * One cell of an evaluation grid: a (task, KV policy, target ratio) run over {@code samples} held-out samples, or a
 * (text, policy, ratio) run over windows of a text. What {@code ./kvslim eval} prints and {@code --report} reads.
 *
 * @param model            the model's name (its folder or file name): reports draw one line per model where results
 *                         of several are mixed (the hyper-scaling plot)
 * @param task             the task's name, or {@code text:FILE} for a text run
 * @param policy           KV policy name
 * @param targetRatio      the ratio asked for (1 for none), or null for dms, whose ratio is learned
 * @param achievedRatio    mean over samples of the cache's compression ratio at the end of each sample
 * @param accuracy         fraction of samples answered exactly (null for text runs)
 * @param correct          samples answered exactly (0 for text runs)
 * @param samples          samples (text runs: windows) evaluated
 * @param kvBytesPeak      the largest live KV bytes any generation's cache held after a forward pass
 * @param kvBytesPeakMean  the mean over generations of each one's peak live KV bytes (a voted problem holds
 *                         {@code votes} such caches at once)
 * @param decodeTokensPerS generated (text runs: teacher-forced) tokens per second of decoding, the samples of the
 *                         run decoded together in batches
 * @param votes            generations per sample combined by majority vote (1: a single generation)
 * @param temperature      sampling temperature of the generations (0: greedy; text runs: 0)
 * @param context          the context length the samples were made for (text runs: the window length)
 * @param seed             the --seed the samples were derived from
 * @param seconds          wall time of the run, prefill included
 * @param kl               text runs: mean KL(dense || compressed) per predicted token, in nats; else null
 * @param perplexityDense  text runs: perplexity of the text with every token kept; else null
 * @param perplexity       text runs: perplexity with this cache; else null
 * @param trace            live KV bytes during the first sample, or null
 */
public record EvalResult(
        String model,
        String task,
        String policy,
        Double targetRatio,
        double achievedRatio,
        Double accuracy,
        int correct,
        int samples,
        long kvBytesPeak,
        double kvBytesPeakMean,
        double decodeTokensPerS,
        int votes,
        double temperature,
        int context,
        long seed,
        double seconds,
        Double kl,
        Double perplexityDense,
        Double perplexity,
        KvTrace trace) {

    public EvalResult {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(policy, "policy");
    }

    /** Whether this result's cache kept every token: the uncompressed baseline. */
    public boolean uncompressed() {
        return KvCacheSpec.keepsEveryToken(policy);
    }

    /** Whether this result's cache is the model's learned DMS eviction. */
    public boolean dms() {
        return KvCacheSpec.isDms(policy);
    }

    /** Whether this is a teacher-forced text run (KL and perplexity) rather than a task run (accuracy). */
    public boolean isText() {
        return accuracy == null;
    }
}
