package dev.kvslim.eval.report;

import dev.kvslim.eval.result.EvalResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The report of a results file: {@code results.md} (the tables), {@code accuracy-TASK.png} per task,
 * {@code kv-memory.png} when runs recorded traces, and {@code hyperscaling.png} when results of several models are
 * mixed (e.g. the vanilla model and its DMS retrofit).
 */
public final class EvalReport {

    private EvalReport() {}

    /**
     * The results at the context length most of them ran at, and among those at the most common way of generating
     * (votes and temperature; one greedy generation wins a tie): tables and accuracy plots compare settings on the
     * same samples generated the same way, so runs at other lengths or with votes (the points of a hyper-scaling
     * sweep) only feed the hyper-scaling plot.
     */
    static List<EvalResult> atMainContext(List<EvalResult> results) {
        int context = mostCommon(results, EvalResult::context, Comparator.naturalOrder());
        List<EvalResult> atContext =
                results.stream().filter(r -> r.context() == context).toList();
        Generation way = mostCommon(
                atContext,
                r -> new Generation(r.votes(), r.temperature()),
                Comparator.comparing(Generation::greedy)
                        .thenComparing(Generation::votes)
                        .thenComparing(Generation::temperature));
        return atContext.stream()
                .filter(r -> new Generation(r.votes(), r.temperature()).equals(way))
                .toList();
    }

    /** How the answers of a run were generated. */
    private record Generation(int votes, double temperature) {
        boolean greedy() {
            return votes == 1 && temperature == 0;
        }
    }

    /** The key most results have; among equally common keys the greatest by {@code tieBreak}. */
    private static <K> K mostCommon(List<EvalResult> results, Function<EvalResult, K> key, Comparator<K> tieBreak) {
        Map<K, Long> counts = results.stream().collect(Collectors.groupingBy(key, Collectors.counting()));
        return counts.entrySet().stream()
                .max(Map.Entry.<K, Long>comparingByValue().thenComparing(Map.Entry::getKey, tieBreak))
                .orElseThrow()
                .getKey();
    }

    /** Writes the report into {@code dir} (created if needed) and returns the files written. */
    public static List<Path> write(List<EvalResult> results, Path dir) throws IOException {
        if (results.isEmpty()) {
            throw new IllegalArgumentException("no results to report on");
        }
        Files.createDirectories(dir);
        List<EvalResult> all = results;
        results = atMainContext(results);
        List<Path> written = new ArrayList<>();
        Path md = dir.resolve("results.md");
        Files.writeString(md, MarkdownReport.render(results));
        written.add(md);
        for (String task : results.stream()
                .filter(r -> !r.isText())
                .map(EvalResult::task)
                .distinct()
                .toList()) {
            Path png = dir.resolve("accuracy-" + task.replaceAll("[^A-Za-z0-9_.-]", "_") + ".png");
            AccuracyPlot.write(results, task, png);
            written.add(png);
        }
        Path memory = dir.resolve("kv-memory.png");
        if (MemoryPlot.write(results, memory)) {
            written.add(memory);
        }
        if (HyperScalingPlot.applies(all)) {
            Path png = dir.resolve("hyperscaling.png");
            HyperScalingPlot.write(HyperScalingPlot.points(all), png);
            written.add(png);
        }
        return written;
    }
}
