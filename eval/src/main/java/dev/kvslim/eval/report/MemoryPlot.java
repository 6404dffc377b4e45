package dev.kvslim.eval.report;

import dev.kvslim.eval.result.EvalResult;
import dev.kvslim.eval.result.KvTrace;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Live KV memory against generated length, from the traces the runs recorded for their first sample: for the task
 * whose traced generation is longest (runsum on the task suite), the uncompressed cache, dms, and the baselines at
 * one ratio (the one nearest dms's achieved ratio, else the largest).
 */
public final class MemoryPlot {

    private MemoryPlot() {}

    /** Writes the plot; false (and no file) when no result has a trace. */
    public static boolean write(List<EvalResult> results, Path png) throws IOException {
        List<EvalResult> traced = results.stream()
                .filter(r -> r.trace() != null && r.trace().size() > 0)
                .toList();
        Optional<EvalResult> longest = traced.stream().max(Comparator.comparingInt(r -> last(r.trace())));
        if (longest.isEmpty()) {
            return false;
        }
        String task = longest.get().task(), model = longest.get().model();
        List<EvalResult> rs = traced.stream()
                .filter(r -> r.task().equals(task) && r.model().equals(model))
                .toList();
        Optional<EvalResult> dms = rs.stream().filter(r -> r.dms()).findFirst();
        double[] ratios = rs.stream()
                .filter(r -> r.targetRatio() != null && !r.uncompressed())
                .mapToDouble(EvalResult::targetRatio)
                .distinct()
                .sorted()
                .toArray();
        Double ratio = ratios.length == 0
                ? null
                : dms.isPresent()
                        ? Arrays.stream(ratios)
                                .boxed()
                                .min(Comparator.comparingDouble(
                                        x -> Math.abs(x - dms.get().achievedRatio())))
                                .orElseThrow()
                        : ratios[ratios.length - 1];
        XYChart chart = Charts.chart(
                task + ": live KV memory while generating (sample 0)", "generated tokens", "live KV bytes");
        for (EvalResult r : rs) {
            boolean show = r.uncompressed() || r.dms() || ratio != null && ratio.equals(r.targetRatio());
            if (show) {
                KvTrace t = r.trace();
                String name = r.policy()
                        + (r.targetRatio() != null && !r.uncompressed()
                                ? " @" + MarkdownReport.column(r.targetRatio())
                                : "");
                chart.addSeries(
                                name,
                                Arrays.stream(t.generated()).asDoubleStream().toArray(),
                                Arrays.stream(t.bytes()).asDoubleStream().toArray())
                        .setMarker(SeriesMarkers.NONE);
            }
        }
        Charts.save(chart, png);
        return true;
    }

    private static int last(KvTrace t) {
        return t.generated()[t.size() - 1];
    }
}
