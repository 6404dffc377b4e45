package dev.kvslim.eval.task;

import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.eval.result.EvalResult;
import dev.kvslim.eval.result.KvTrace;
import dev.kvslim.tasks.Task;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One task evaluated under one cache setting: every generation's outcome, the time spent, and the live KV bytes of the
 * first generation as it was made.
 *
 * @param outcomes      the generations, sample by sample: those of sample {@code n} are {@code n * votes} to
 *                      {@code n * votes + votes - 1}
 * @param votes         generations per sample, combined by majority vote
 * @param temperature   the sampling temperature (0: greedy)
 * @param decodedTokens tokens fed back in decode steps (all generations), what {@code decodeNanos} was spent on
 */
public record TaskRun(
        String task,
        KvCacheSpec.Paged spec,
        List<SampleOutcome> outcomes,
        int votes,
        float temperature,
        long prefillNanos,
        long decodeNanos,
        long decodedTokens,
        long wallNanos,
        KvTrace trace) {

    public TaskRun {
        outcomes = List.copyOf(outcomes);
        if (votes < 1 || outcomes.size() % votes != 0) {
            throw new IllegalArgumentException(outcomes.size() + " generations do not make whole votes of " + votes);
        }
    }

    /** Samples evaluated. */
    public int samples() {
        return outcomes.size() / votes;
    }

    /** The generations of sample {@code n}. */
    public List<SampleOutcome> generationsOf(int n) {
        return outcomes.subList(n * votes, (n + 1) * votes);
    }

    /**
     * The answer most of {@code generations} give ({@link Task#answerOf}; a generation without one does not vote); a
     * tie goes to the answer that reached the tied count first (A, B, B, A gives B), and no answer at all gives "".
     */
    public static String majority(List<SampleOutcome> generations) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        String best = "";
        int bestCount = 0;
        for (SampleOutcome o : generations) {
            String answer = o.answer();
            if (answer.isEmpty()) {
                continue;
            }
            int c = counts.merge(answer, 1, Integer::sum);
            if (c > bestCount) {
                best = answer;
                bestCount = c;
            }
        }
        return best;
    }

    /**
     * Whether sample {@code n} is solved: its generation is right, or with votes, a generation giving the majority
     * answer is (as the task's scorer judges it).
     */
    public boolean solved(int n) {
        if (votes == 1) {
            return outcomes.get(n).correct();
        }
        String answer = majority(generationsOf(n));
        return !answer.isEmpty()
                && generationsOf(n).stream()
                        .filter(o -> o.answer().equals(answer))
                        .findFirst()
                        .orElseThrow()
                        .correct();
    }

    public int correct() {
        int c = 0;
        for (int n = 0; n < samples(); n++) {
            c += solved(n) ? 1 : 0;
        }
        return c;
    }

    /** Fraction of samples answered exactly (0 with no samples). */
    public double accuracy() {
        return outcomes.isEmpty() ? 0 : correct() / (double) samples();
    }

    /** Mean over generations of the final compression ratio. */
    public double achievedRatio() {
        return outcomes.stream()
                .mapToDouble(SampleOutcome::compressionRatio)
                .average()
                .orElse(1);
    }

    /** The most live KV bytes one generation's cache held (a voted sample holds {@code votes} such caches at once). */
    public long kvBytesPeak() {
        return outcomes.stream().mapToLong(SampleOutcome::kvBytesPeak).max().orElse(0);
    }

    public double decodeTokensPerSecond() {
        return decodeNanos == 0 ? 0 : decodedTokens * 1e9 / decodeNanos;
    }

    /** This run as a result line. */
    public EvalResult toResult(String model, int context, long seed) {
        return new EvalResult(
                model,
                task,
                spec.name(),
                spec.targetRatio(),
                achievedRatio(),
                accuracy(),
                correct(),
                samples(),
                kvBytesPeak(),
                outcomes.stream()
                        .mapToLong(SampleOutcome::kvBytesPeak)
                        .average()
                        .orElse(0),
                decodeTokensPerSecond(),
                votes,
                Double.parseDouble(Float.toString(temperature)),
                context,
                seed,
                wallNanos / 1e9,
                null,
                null,
                null,
                trace);
    }
}
