package dev.kvslim.eval.task;

import dev.kvslim.eval.cache.CacheSpec;
import dev.kvslim.eval.result.EvalResult;
import dev.kvslim.eval.result.KvTrace;
import java.util.List;

/**
 * One task evaluated under one cache setting: every sample's outcome, the time spent, and the live KV bytes of the
 * first sample as it was generated.
 *
 * @param decodedTokens tokens fed back in decode steps (all samples), what {@code decodeNanos} was spent on
 */
public record TaskRun(String task, CacheSpec spec, List<SampleOutcome> outcomes, long prefillNanos, long decodeNanos,
                      long decodedTokens, long wallNanos, KvTrace trace) {

    public TaskRun {
        outcomes = List.copyOf(outcomes);
    }

    public int correct() {
        return (int) outcomes.stream().filter(SampleOutcome::correct).count();
    }

    /** Fraction of samples answered exactly (0 with no samples). */
    public double accuracy() {
        return outcomes.isEmpty() ? 0 : correct() / (double) outcomes.size();
    }

    /** Mean over samples of the final compression ratio. */
    public double achievedRatio() {
        return outcomes.stream().mapToDouble(SampleOutcome::compressionRatio).average().orElse(1);
    }

    public long kvBytesPeak() {
        return outcomes.stream().mapToLong(SampleOutcome::kvBytesPeak).max().orElse(0);
    }

    public double decodeTokensPerSecond() {
        return decodeNanos == 0 ? 0 : decodedTokens * 1e9 / decodeNanos;
    }

    /** This run as a result line. */
    public EvalResult toResult(String model, int context, long seed) {
        return new EvalResult(model, task, spec.policy(), spec.targetRatio(), achievedRatio(), accuracy(), correct(),
                outcomes.size(), kvBytesPeak(), outcomes.stream().mapToLong(SampleOutcome::kvBytesPeak).average().orElse(0),
                decodeTokensPerSecond(), 1, context, seed, wallNanos / 1e9, null, null, null, trace);
    }
}
