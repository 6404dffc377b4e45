package dev.kvslim.eval.report;

import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.eval.result.EvalResult;
import dev.kvslim.eval.result.ResultTable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * Results as Markdown: for task runs one row per (model, task, policy) and one column per target ratio, each cell
 * "accuracy (achieved ratio)"; dms, whose ratio is learned, has a column of its own. Text runs get a table of KL and
 * perplexity in the same shape. Where several runs share a cell (results appended twice), the last one counts.
 */
public final class MarkdownReport {

    private MarkdownReport() {}

    public static String render(List<EvalResult> results) {
        StringBuilder md = new StringBuilder("# KV-cache compression results\n\n");
        List<EvalResult> tasks = results.stream().filter(r -> !r.isText()).toList();
        List<EvalResult> texts = results.stream().filter(EvalResult::isText).toList();
        if (!tasks.isEmpty()) {
            md.append("Exact-match accuracy on held-out samples, and in brackets the achieved compression ratio. "
                    + "Columns are target ratios; `none` keeps every token (ratio 1), `dms` evicts as the model learned."
                    + "\n\n");
            table(md, tasks, r -> String.format(Locale.ROOT, "%.2f (%.2fx)", r.accuracy(), r.achievedRatio()));
            md.append("\nSamples per cell: ")
                    .append(tasks.stream()
                            .map(r -> Integer.toString(r.samples()))
                            .distinct()
                            .reduce((a, b) -> a + ", " + b)
                            .orElse(""))
                    .append(".\n");
        }
        if (!texts.isEmpty()) {
            md.append("\nTeacher-forced text: mean KL(dense || compressed) per token in nats, and perplexity with the "
                    + "compressed cache (dense perplexity in the last column).\n\n");
            table(
                    md,
                    texts,
                    r -> String.format(Locale.ROOT, "%.4f / %.2f (%.2fx)", r.kl(), r.perplexity(), r.achievedRatio()));
        }
        return md.toString();
    }

    private static void table(
            StringBuilder md, List<EvalResult> results, java.util.function.Function<EvalResult, String> cell) {
        TreeSet<Double> ratios = new TreeSet<>();
        boolean dms = false, text = false;
        Map<String, Map<String, EvalResult>> rows = new LinkedHashMap<>();
        for (EvalResult r : results) {
            dms |= r.targetRatio() == null;
            text |= r.isText();
            if (r.targetRatio() != null) {
                ratios.add(r.targetRatio());
            }
            rows.computeIfAbsent(r.model() + "\u0000" + r.task() + "\u0000" + r.policy(), k -> new LinkedHashMap<>())
                    .put(column(r.targetRatio()), r);
        }
        List<String> columns = new ArrayList<>();
        ratios.forEach(x -> columns.add(column(x)));
        if (dms) {
            columns.add(column(null));
        }
        md.append("| model | task | policy |");
        columns.forEach(c -> md.append(' ').append(c).append(" |"));
        md.append(text ? " ppl dense | peak KV |\n" : " peak KV |\n");
        md.append("|---|---|---|");
        columns.forEach(c -> md.append("---|"));
        md.append(text ? "---|---|\n" : "---|\n");
        for (Map.Entry<String, Map<String, EvalResult>> row : rows.entrySet()) {
            String[] key = row.getKey().split("\u0000", -1);
            md.append("| ")
                    .append(key[0])
                    .append(" | ")
                    .append(key[1])
                    .append(" | ")
                    .append(key[2])
                    .append(" |");
            long peak = 0;
            EvalResult any = null;
            for (String c : columns) {
                EvalResult r = row.getValue().get(c);
                md.append(' ').append(r == null ? "" : cell.apply(r)).append(" |");
                if (r != null) {
                    peak = Math.max(peak, r.kvBytesPeak());
                    any = r;
                }
            }
            if (text) {
                md.append(String.format(Locale.ROOT, " %.2f |", any.perplexityDense()));
            }
            md.append(' ').append(ResultTable.bytes(peak)).append(" |\n");
        }
    }

    /** The column of a target ratio: "1x", "4x", or "learned" for dms. */
    static String column(Double targetRatio) {
        return targetRatio == null ? "learned" : KvCacheSpec.formatRatio(targetRatio) + "x";
    }
}
