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

/**
 * Inference-time hyper-scaling: accuracy against the KV memory a problem is given, one line per (model, policy, way of
 * generating), e.g. the vanilla model uncompressed against its DMS retrofit, greedy at several context lengths, and
 * each again with majority votes over sampled generations. At equal memory a compressed model can afford longer
 * traces or more votes, which is the DMS paper's argument; each point here is a run, its budget the mean peak live
 * KV bytes per generation times the generations voted on, its accuracy the mean over the tasks run at that setting.
 */
public final class HyperScalingPlot {

    /** One point: {@code series} (model and policy) reaching {@code accuracy} with {@code kvBytes} per problem. */
    public record BudgetPoint(String series, double kvBytes, double accuracy) {}

    private HyperScalingPlot() {}

    /**
     * The points of {@code results}' task runs: runs of one model, policy, target ratio, votes, temperature and
     * context are one point (accuracy and budget averaged over their tasks). Greedy runs of a (model, policy) form one
     * series, sampled runs (their votes as points) another per temperature.
     */
    public static List<BudgetPoint> points(List<EvalResult> results) {
        Map<String, List<EvalResult>> groups = new LinkedHashMap<>();
        for (EvalResult r : results) {
            if (!r.isText()) {
                groups.computeIfAbsent(
                                String.join(
                                        "\u0000",
                                        r.model(),
                                        r.policy(),
                                        String.valueOf(r.targetRatio()),
                                        Integer.toString(r.votes()),
                                        Double.toString(r.temperature()),
                                        Integer.toString(r.context())),
                                k -> new ArrayList<>())
                        .add(r);
            }
        }
        List<BudgetPoint> out = new ArrayList<>();
        for (List<EvalResult> g : groups.values()) {
            EvalResult first = g.getFirst();
            String way = first.temperature() == 0
                    ? ""
                    : String.format(java.util.Locale.ROOT, ", sampled at T=%s (votes)", first.temperature());
            out.add(new BudgetPoint(
                    first.model() + " " + first.policy() + way,
                    g.stream()
                            .mapToDouble(r -> r.kvBytesPeakMean() * r.votes())
                            .average()
                            .orElseThrow(),
                    g.stream().mapToDouble(EvalResult::accuracy).average().orElseThrow()));
        }
        return out;
    }

    /** Whether {@code results} hold task runs of more than one model: what the plot compares. */
    public static boolean applies(List<EvalResult> results) {
        return results.stream()
                        .filter(r -> !r.isText())
                        .map(EvalResult::model)
                        .distinct()
                        .count()
                > 1;
    }

    public static void write(List<BudgetPoint> points, Path png) throws IOException {
        if (points.isEmpty()) {
            throw new IllegalArgumentException("no budget points to plot");
        }
        XYChart chart = Charts.chart(
                "Accuracy against KV memory budget",
                "KV bytes per problem (peak live x votes)",
                "accuracy (mean over tasks)");
        chart.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
        chart.getStyler().setXAxisLogarithmic(true); // budgets span votes x contexts x ratios: orders of magnitude
        Map<String, List<BudgetPoint>> series = new LinkedHashMap<>();
        // a log axis takes positive values only: a result without a measured budget (0) has no place on it
        points.stream()
                .filter(p -> p.kvBytes() > 0)
                .forEach(p -> series.computeIfAbsent(p.series(), k -> new ArrayList<>())
                        .add(p));
        if (series.isEmpty()) {
            throw new IllegalArgumentException("no budget points with a KV budget above 0 to plot");
        }
        for (Map.Entry<String, List<BudgetPoint>> s : series.entrySet()) {
            List<BudgetPoint> ps = new ArrayList<>(s.getValue());
            ps.sort(Comparator.comparingDouble(BudgetPoint::kvBytes));
            chart.addSeries(
                    s.getKey(),
                    ps.stream().mapToDouble(BudgetPoint::kvBytes).toArray(),
                    ps.stream().mapToDouble(BudgetPoint::accuracy).toArray());
        }
        Charts.save(chart, png);
    }
}
