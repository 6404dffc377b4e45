package dev.kvslim.eval.result;

import dev.kvslim.core.kv.KvCacheSpec;
import java.util.List;
import java.util.Locale;

/** Results as a fixed-width table for people: task runs and text runs each get their own columns. */
public final class ResultTable {

    private ResultTable() {}

    public static String render(List<EvalResult> results) {
        StringBuilder out = new StringBuilder();
        List<EvalResult> tasks = results.stream().filter(r -> !r.isText()).toList();
        List<EvalResult> texts = results.stream().filter(EvalResult::isText).toList();
        if (!tasks.isEmpty()) {
            out.append(String.format(
                    Locale.ROOT,
                    "%-12s %-18s %7s %8s %9s %8s %12s %10s%n",
                    "task",
                    "policy",
                    "target",
                    "achieved",
                    "accuracy",
                    "correct",
                    "peak KV",
                    "decode t/s"));
            for (EvalResult r : tasks) {
                out.append(String.format(
                        Locale.ROOT,
                        "%-12s %-18s %7s %7.2fx %9.3f %8s %12s %10.1f%n",
                        r.task(),
                        r.policy(),
                        target(r),
                        r.achievedRatio(),
                        r.accuracy(),
                        r.correct() + "/" + r.samples(),
                        bytes(r.kvBytesPeak()),
                        r.decodeTokensPerS()));
            }
        }
        if (!texts.isEmpty()) {
            if (!tasks.isEmpty()) {
                out.append('\n');
            }
            out.append(String.format(
                    Locale.ROOT,
                    "%-20s %-10s %7s %8s %10s %10s %10s %12s%n",
                    "text",
                    "policy",
                    "target",
                    "achieved",
                    "KL (nats)",
                    "ppl",
                    "ppl dense",
                    "peak KV"));
            for (EvalResult r : texts) {
                out.append(String.format(
                        Locale.ROOT,
                        "%-20s %-10s %7s %7.2fx %10.5f %10.3f %10.3f %12s%n",
                        r.task(),
                        r.policy(),
                        target(r),
                        r.achievedRatio(),
                        r.kl(),
                        r.perplexity(),
                        r.perplexityDense(),
                        bytes(r.kvBytesPeak())));
            }
        }
        return out.toString();
    }

    /** "4x", or "learned" for a setting without a target (dms). */
    static String target(EvalResult r) {
        return r.targetRatio() == null ? "learned" : KvCacheSpec.formatRatio(r.targetRatio()) + "x";
    }

    /** Bytes in KiB or MiB, one decimal. */
    public static String bytes(long b) {
        return b >= 1 << 20
                ? String.format(Locale.ROOT, "%.1f MiB", b / 1048576.0)
                : String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
    }
}
