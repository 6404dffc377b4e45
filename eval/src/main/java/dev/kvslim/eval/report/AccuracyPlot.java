package dev.kvslim.eval.report;

import dev.kvslim.eval.result.EvalResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Accuracy against achieved compression ratio for one task: one line per baseline policy (starting from the
 * uncompressed point, which is every policy's ratio-1 point), dms as a point at the ratio it reached, and the
 * uncompressed accuracy as a dashed reference line. With results of several models, each model has its own lines.
 */
public final class AccuracyPlot {

    private AccuracyPlot() {}

    public static void write(List<EvalResult> results, String task, Path png) throws IOException {
        List<EvalResult> rs = results.stream()
                .filter(r -> !r.isText() && r.task().equals(task))
                .toList();
        if (rs.isEmpty()) {
            throw new IllegalArgumentException("no task results for " + task + " to plot");
        }
        boolean models = rs.stream().map(EvalResult::model).distinct().count() > 1;
        double maxX = Math.max(
                2, rs.stream().mapToDouble(EvalResult::achievedRatio).max().orElse(1));
        XYChart chart = Charts.chart(
                task + ": accuracy against KV compression", "achieved compression ratio", "exact-match accuracy");
        chart.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
        Map<String, List<EvalResult>> series = new LinkedHashMap<>();
        Map<String, EvalResult> none = new LinkedHashMap<>();
        for (EvalResult r : rs) {
            if (r.uncompressed()) {
                none.put(r.model(), r);
            } else {
                series.computeIfAbsent(
                                (models ? r.model() + " " : "") + r.policy() + "\u0000" + r.model(),
                                k -> new ArrayList<>())
                        .add(r);
            }
        }
        for (Map.Entry<String, EvalResult> n : none.entrySet()) {
            XYSeries ref = chart.addSeries(
                    (models ? n.getKey() + " " : "") + "none (uncompressed)",
                    new double[] {1, maxX},
                    new double[] {n.getValue().accuracy(), n.getValue().accuracy()});
            ref.setMarker(SeriesMarkers.NONE).setLineStyle(SeriesLines.DASH_DASH);
        }
        for (Map.Entry<String, List<EvalResult>> s : series.entrySet()) {
            String[] key = s.getKey().split("\u0000", -1);
            List<EvalResult> points = new ArrayList<>(s.getValue());
            points.sort(Comparator.comparingDouble(EvalResult::achievedRatio));
            EvalResult base = none.get(key[1]);
            boolean dms = points.getFirst().dms();
            if (base != null && !dms && points.stream().noneMatch(p -> p.achievedRatio() <= 1.0001)) {
                points.addFirst(base);
            }
            XYSeries line = chart.addSeries(
                    key[0],
                    points.stream().mapToDouble(EvalResult::achievedRatio).toArray(),
                    points.stream().mapToDouble(EvalResult::accuracy).toArray());
            if (dms && points.size() == 1) {
                line.setLineStyle(SeriesLines.NONE);
            }
        }
        Charts.save(chart, png);
    }
}
