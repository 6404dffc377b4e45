package dev.kvslim.train.report;

import java.io.IOException;
import java.nio.file.Path;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;

/** Writes the training plots as PNG files. */
final class ChartFiles {

    private ChartFiles() {}

    /** Writes {@code chart} to {@code png} (xchart adds ".png" to a name without it). */
    @SuppressWarnings("deprecation") // xchart 4.0 deprecates every file helper of BitmapEncoder; none replaces them
    static void savePng(XYChart chart, Path png) throws IOException {
        String name = png.toString();
        BitmapEncoder.saveBitmap(
                chart,
                name.endsWith(".png") ? name.substring(0, name.length() - 4) : name,
                BitmapEncoder.BitmapFormat.PNG);
    }
}
