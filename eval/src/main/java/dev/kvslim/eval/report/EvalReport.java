package dev.kvslim.eval.report;

import dev.kvslim.eval.result.EvalResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The report of a results file: {@code results.md} (the tables), {@code accuracy-TASK.png} per task,
 * {@code kv-memory.png} when runs recorded traces, and {@code hyperscaling.png} when results of several models are
 * mixed (e.g. the vanilla model and its DMS retrofit).
 */
public final class EvalReport {

    private EvalReport() {
    }

    /**
     * The results at the context length most of them ran at, and among those at the most common way of generating
     * (votes and temperature; one greedy generation wins a tie): tables and accuracy plots compare settings on the
     * same samples generated the same way, so runs at other lengths or with votes (the points of a hyper-scaling
     * sweep) only feed the hyper-scaling plot.
     */
    static List<EvalResult> atMainContext(List<EvalResult> results) {
        var counts = results.stream().collect(java.util.stream.Collectors.groupingBy(EvalResult::context,
                java.util.TreeMap::new, java.util.stream.Collectors.counting()));
        int main = counts.entrySet().stream().max(java.util.Map.Entry.<Integer, Long>comparingByValue()
                .thenComparing(java.util.Map.Entry.comparingByKey())).orElseThrow().getKey();
        List<EvalResult> atContext = results.stream().filter(r -> r.context() == main).toList();
        var ways = atContext.stream().collect(java.util.stream.Collectors.groupingBy(EvalReport::generation,
                java.util.LinkedHashMap::new, java.util.stream.Collectors.counting()));
        String way = ways.entrySet().stream().max(java.util.Map.Entry.<String, Long>comparingByValue()
                .thenComparing(e -> e.getKey().equals("1/0.0"))).orElseThrow().getKey();
        return atContext.stream().filter(r -> generation(r).equals(way)).toList();
    }

    private static String generation(EvalResult r) {
        return r.votes() + "/" + r.temperature();
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
        for (String task : results.stream().filter(r -> !r.isText()).map(EvalResult::task).distinct().toList()) {
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
