package dev.kvslim.eval.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.eval.result.EvalResult;
import dev.kvslim.eval.result.KvTrace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalReportTest {

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private static EvalResult r(
            String model,
            String task,
            String policy,
            Double target,
            double achieved,
            double accuracy,
            long peakMean,
            KvTrace trace) {
        return new EvalResult(
                model,
                task,
                policy,
                target,
                achieved,
                accuracy,
                (int) (accuracy * 10),
                10,
                peakMean,
                peakMean,
                500,
                1,
                0,
                1024,
                0,
                1,
                null,
                null,
                null,
                trace);
    }

    private static EvalResult voted(
            String model, String task, int votes, double temperature, double accuracy, long peakMean) {
        return new EvalResult(
                model,
                task,
                "dms",
                null,
                6.5,
                accuracy,
                (int) (accuracy * 10),
                10,
                peakMean,
                peakMean,
                500,
                votes,
                temperature,
                1024,
                0,
                1,
                null,
                null,
                null,
                null);
    }

    private static KvTrace trace(long start, long perToken) {
        int[] g = {0, 100, 200, 300};
        return new KvTrace(
                g, Arrays.stream(g).mapToLong(x -> start + perToken * x).toArray());
    }

    private static List<EvalResult> grid() {
        List<EvalResult> rs = new ArrayList<>();
        for (String task : List.of("needle", "runsum")) {
            rs.add(r("demo", task, "none", 1.0, 1, 0.9, 2_000_000, trace(1_000_000, 2048)));
            rs.add(r("demo", task, "dms", null, 5.5, 0.8, 400_000, trace(200_000, 256)));
            for (String p : List.of("h2o", "tova")) {
                for (double ratio : new double[] {2, 4, 8}) {
                    rs.add(r(
                            "demo",
                            task,
                            p,
                            ratio,
                            ratio * 0.99,
                            0.9 / ratio,
                            (long) (2_000_000 / ratio),
                            trace((long) (1_000_000 / ratio), (long) (2048 / ratio))));
                }
            }
        }
        return rs;
    }

    @Test
    void writesTheTableAndPlots(@TempDir Path dir) throws Exception {
        List<Path> written = EvalReport.write(grid(), dir);
        assertThat(written)
                .extracting(p -> p.getFileName().toString())
                .containsExactly("results.md", "accuracy-needle.png", "accuracy-runsum.png", "kv-memory.png");
        List<String> md = Files.readAllLines(dir.resolve("results.md"));
        String header =
                md.stream().filter(l -> l.startsWith("| model")).findFirst().orElseThrow();
        assertThat(header).isEqualTo("| model | task | policy | 1x | 2x | 4x | 8x | learned | peak KV |");
        List<String> rows = md.stream().filter(l -> l.startsWith("| demo")).toList();
        assertThat(rows).hasSize(2 * 4);
        assertThat(rows.getFirst()).isEqualTo("| demo | needle | none | 0.90 (1.00x) |  |  |  |  | 1.9 MiB |");
        assertThat(rows.get(2))
                .startsWith("| demo | needle | h2o |  | 0.45 (1.98x) | 0.23 (3.96x) | 0.11 (7.92x) |  |");
        assertThat(rows.get(1)).contains("| 0.80 (5.50x) |");
        for (Path p : written.subList(1, written.size())) {
            byte[] png = Files.readAllBytes(p);
            assertThat(Arrays.copyOf(png, 8)).as(p.toString()).containsExactly(PNG_SIGNATURE);
            assertThat(png.length).as(p.toString()).isGreaterThan(5_000);
        }
    }

    @Test
    void hyperScalingComparesModelsAtTheirKvBudget(@TempDir Path dir) throws Exception {
        List<EvalResult> rs = new ArrayList<>(grid());
        rs.add(r("demo-dms", "needle", "dms", null, 6, 0.85, 300_000, null));
        rs.add(r("demo-dms", "runsum", "dms", null, 7, 0.75, 500_000, null));
        List<HyperScalingPlot.BudgetPoint> points = HyperScalingPlot.points(rs);
        HyperScalingPlot.BudgetPoint retrofit = points.stream()
                .filter(p -> p.series().equals("demo-dms dms"))
                .findFirst()
                .orElseThrow();
        assertThat(retrofit.kvBytes()).isEqualTo(400_000);
        assertThat(retrofit.accuracy()).isCloseTo(0.8, within(1e-12));
        assertThat(points.stream().filter(p -> p.series().equals("demo h2o"))).hasSize(3);
        List<Path> written = EvalReport.write(rs, dir);
        assertThat(written).contains(dir.resolve("hyperscaling.png"));
        assertThat(Files.size(dir.resolve("hyperscaling.png"))).isGreaterThan(5_000);
        assertThat(HyperScalingPlot.applies(grid())).isFalse();
    }

    @Test
    void votedRunsAreTheirOwnSeriesAtVotesTimesTheirCacheAndStayOutOfTheTables(@TempDir Path dir) throws Exception {
        List<EvalResult> rs = new ArrayList<>(grid());
        for (String task : List.of("needle", "runsum")) {
            rs.add(voted("demo-dms", task, 1, 0.0, 0.8, 300_000));
            rs.add(voted("demo-dms", task, 1, 0.7, task.equals("needle") ? 0.6 : 0.5, 300_000));
            rs.add(voted("demo-dms", task, 5, 0.7, 0.9, 300_000));
        }
        List<HyperScalingPlot.BudgetPoint> points = HyperScalingPlot.points(rs);
        assertThat(points.stream().filter(p -> p.series().equals("demo-dms dms")))
                .extracting(HyperScalingPlot.BudgetPoint::kvBytes)
                .containsExactly(300_000.0);
        List<HyperScalingPlot.BudgetPoint> sampled = points.stream()
                .filter(p -> p.series().equals("demo-dms dms, sampled at T=0.7 (votes)"))
                .toList();
        assertThat(sampled).extracting(HyperScalingPlot.BudgetPoint::kvBytes).containsExactly(300_000.0, 1_500_000.0);
        assertThat(sampled.getFirst().accuracy()).isCloseTo(0.55, within(1e-12));
        assertThat(sampled.get(1).accuracy()).isCloseTo(0.9, within(1e-12));
        // the tables hold one row per (model, task, policy): the greedy single generations
        rs.add(voted("demo-dms", "needle", 3, 0.7, 0.9, 0)); // no budget measured: left off the log axis
        EvalReport.write(rs, dir);
        assertThat(Files.size(dir.resolve("hyperscaling.png"))).isGreaterThan(5_000);
        List<String> md = Files.readAllLines(dir.resolve("results.md"));
        assertThat(md.stream().filter(l -> l.startsWith("| demo-dms")))
                .hasSize(2)
                .allMatch(l -> l.contains("| 0.80 (6.50x) |"));
    }

    @Test
    void textResultsGetTheirOwnTable(@TempDir Path dir) throws Exception {
        EvalResult text = new EvalResult(
                "s260",
                "text:story.txt",
                "h2o",
                2.0,
                1.99,
                null,
                0,
                3,
                4096,
                4000,
                100,
                1,
                0,
                512,
                0,
                1,
                0.0123,
                4.5,
                4.75,
                null);
        List<Path> written = EvalReport.write(List.of(text), dir);
        assertThat(written).extracting(p -> p.getFileName().toString()).containsExactly("results.md");
        assertThat(Files.readString(dir.resolve("results.md")))
                .contains("| model | task | policy | 2x | ppl dense | peak KV |")
                .contains("| s260 | text:story.txt | h2o | 0.0123 / 4.75 (1.99x) | 4.50 | 4.0 KiB |");
    }
}
