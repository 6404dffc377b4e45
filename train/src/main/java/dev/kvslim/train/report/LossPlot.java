package dev.kvslim.train.report;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The loss curve of a step log as a PNG (XChart, rendered headless). */
public final class LossPlot {

    private LossPlot() {}

    public static void write(List<double[]> points, Path png, String title) throws IOException {
        if (points.isEmpty()) {
            throw new IllegalArgumentException("no steps to plot");
        }
        System.setProperty("java.awt.headless", "true");
        double[] x = new double[points.size()], y = new double[points.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = points.get(i)[0];
            y[i] = points.get(i)[1];
        }
        XYChart chart = new XYChartBuilder()
                .width(900)
                .height(500)
                .title(title)
                .xAxisTitle("step")
                .yAxisTitle("loss")
                .build();
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setXAxisTickMarkSpacingHint(120);
        chart.addSeries("loss", x, y).setMarker(SeriesMarkers.NONE);
        ChartFiles.savePng(chart, png);
    }
}
