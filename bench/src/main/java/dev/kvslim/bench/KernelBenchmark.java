package dev.kvslim.bench;

import dev.kvslim.core.model.LlamaWeights;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.MatmulScratch;
import dev.kvslim.core.tensor.Tensors;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The decode kernels of one model: every weight matrix's one-token product, grouped by weight type, in read GB/s,
 * with an F32 matrix multiplied in the same loop as a yardstick. These machines' speed drifts by 2x between runs;
 * a kernel's ratio to the yardstick drifts less, which is what kernel work needs. Not a speed claim: those are
 * ratios to llama.cpp measured side by side ({@code tools/bench-vs-llamacpp.sh}).
 */
public final class KernelBenchmark {

    /** One weight type's products: {@code bytes} read per pass, at {@code gbPerS}, {@code vsYardstick} times it. */
    public record Row(String type, int matrices, long bytes, double gbPerS, double vsYardstick) {}

    /** Name of the yardstick's row. */
    public static final String YARDSTICK = "yardstick F32 4096x768";

    private KernelBenchmark() {}

    /** {@code passes} passes over the matrices to warm up, then {@code passes} measured ones. */
    public static List<Row> run(Model model, int passes) {
        if (passes < 1) {
            throw new IllegalArgumentException("passes must be >= 1, got " + passes);
        }
        LlamaWeights w = model.weights();
        List<FloatTensor> matrices = new ArrayList<>();
        for (int l = 0; l < w.wq().length; l++) {
            matrices.addAll(List.of(w.wq()[l], w.wk()[l], w.wv()[l], w.wo()[l], w.w1()[l], w.w2()[l], w.w3()[l]));
        }
        matrices.add(w.classifier());
        SplittableRandom rnd = new SplittableRandom(1);
        float[] values = new float[4096 * 768];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rnd.nextGaussian();
        }
        FloatTensor yardstick = Tensors.f32(Arena.ofAuto(), values, 4096, 768);
        List<FloatTensor> loop = new ArrayList<>();
        for (int i = 0; i < matrices.size(); i++) {
            if (i % 4 == 0) {
                loop.add(yardstick);
            }
            loop.add(matrices.get(i));
        }
        int cols = loop.stream().mapToInt(FloatTensor::cols).max().orElseThrow();
        long rows = loop.stream().mapToLong(FloatTensor::rows).max().orElseThrow();
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] out = new float[Math.toIntExact(rows)];
        MatmulScratch scratch = new MatmulScratch(cols, 1);
        Map<String, long[]> byType = new LinkedHashMap<>(); // nanos, bytes, matrices
        for (int pass = 0; pass < 2 * passes; pass++) {
            for (FloatTensor t : loop) {
                long start = System.nanoTime();
                t.matmul(x, 1, out, scratch);
                long nanos = System.nanoTime() - start;
                if (pass >= passes) {
                    String key = t == yardstick ? YARDSTICK : t.format();
                    long[] sums = byType.computeIfAbsent(key, k -> new long[3]);
                    sums[0] += nanos;
                    sums[1] += t.byteSize();
                    sums[2]++;
                }
            }
        }
        long[] y = byType.get(YARDSTICK);
        double yardGbPerS = (double) y[1] / y[0];
        List<Row> rows2 = new ArrayList<>();
        byType.forEach((type, s) -> {
            double gbPerS = (double) s[1] / s[0];
            rows2.add(new Row(type, (int) (s[2] / passes), s[1] / passes, gbPerS, gbPerS / yardGbPerS));
        });
        return rows2;
    }
}
