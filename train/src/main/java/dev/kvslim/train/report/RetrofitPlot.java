package dev.kvslim.train.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The retrofit's step log as a PNG: achieved and target compression ratio (left axis) and KL (right axis). */
public final class RetrofitPlot {

    private RetrofitPlot() {}

    public static void write(Path log, Path png) throws IOException {
        JsonMapper json = JsonMapper.builder().build();
        List<double[]> rows = new ArrayList<>();
        for (String line : Files.readAllLines(log)) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = json.readTree(line);
            if (n.has("kl")) {
                rows.add(new double[] {
                    n.get("step").asDouble(),
                    n.get("train_cr").asDouble(),
                    n.get("target_cr").asDouble(),
                    n.get("kl").asDouble()
                });
            }
        }
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(log + " has no retrofit steps to plot");
        }
        System.setProperty("java.awt.headless", "true");
        double[][] cols = new double[4][rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            for (int c = 0; c < 4; c++) {
                cols[c][i] = rows.get(i)[c];
            }
        }
        XYChart chart = new XYChartBuilder()
                .width(900)
                .height(500)
                .title("DMS retrofit")
                .xAxisTitle("step")
                .yAxisTitle("compression ratio")
                .build();
        chart.getStyler().setXAxisTickMarkSpacingHint(120);
        chart.addSeries("achieved CR (training)", cols[0], cols[1]).setMarker(SeriesMarkers.NONE);
        chart.addSeries("target CR", cols[0], cols[2]).setMarker(SeriesMarkers.NONE);
        var kl = chart.addSeries("KL(student||teacher)", cols[0], cols[3]);
        kl.setMarker(SeriesMarkers.NONE);
        kl.setYAxisGroup(1);
        chart.setYAxisGroupTitle(1, "KL (nats/token)");
        ChartFiles.savePng(chart, png);
    }
}
