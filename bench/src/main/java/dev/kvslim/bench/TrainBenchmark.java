package dev.kvslim.bench;

import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.tensor.Gemm;
import dev.kvslim.core.tensor.Parallel;
import dev.kvslim.train.data.Batch;
import dev.kvslim.train.data.TokenStreamSource;
import dev.kvslim.train.loop.NextTokenLoss;
import dev.kvslim.train.model.Activations;
import dev.kvslim.train.model.TrainWeights;
import dev.kvslim.train.model.Transformer;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;

/**
 * Training speed: tokens/s and achieved GFLOP/s of full training steps (forward, loss, backward; the optimiser is
 * negligible) of a small model, against the single-precision matrix-multiply peak measured in the same run with the
 * trainer's own GEMM kernel on a large square problem. Also the time split between the phases of a step.
 * FLOPs counted: 6 per matrix weight per token (forward 2, backward 4) plus causal attention (the score and value
 * products, forward 2 and backward 4 of {@code T(T+1)/2 * headSize} multiply-adds per head; the backward's
 * recomputation of the scores is not counted as useful work).
 */
public final class TrainBenchmark {

    /** The shape of the benchmark: dim 128, 4 layers, 4 heads, 2 KV heads, hidden 384, vocab 260. */
    public static LlamaConfig config(int context) {
        return LlamaConfig.builder()
                .architecture("LlamaForCausalLM")
                .dim(128)
                .hiddenDim(384)
                .layers(4)
                .heads(4)
                .kvHeads(2)
                .headSize(32)
                .vocabSize(260)
                .contextLength(context)
                .tiedEmbeddings(true)
                .build();
    }

    /** Untimed steps first: the Vector API kernels take a few steps of JIT compilation to reach full speed. */
    private static final int WARMUP = 5;

    private final int b, t, repeats;

    public TrainBenchmark(int b, int t, int repeats) {
        this.b = b;
        this.t = t;
        this.repeats = repeats;
    }

    public void run(PrintStream out) {
        LlamaConfig c = config(t);
        out.printf(
                Locale.ROOT,
                "kvslim bench --train: %d threads, %d-bit vectors; medians of %d runs (noisy when other"
                        + " processes share the cores)%n",
                Parallel.threads(),
                jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize(),
                repeats);
        double peak = gemmPeak();
        out.printf(Locale.ROOT, "matmul peak (trainer GEMM, 1024^3, all threads): %.1f GFLOP/s%n", peak);

        TrainWeights w = new TrainWeights(c);
        w.initialise(1);
        Transformer model = new Transformer(w);
        Activations a = model.newActivations(b, t, false);
        int[] stream = new int[200_000];
        for (int i = 0; i < stream.length; i++) {
            stream[i] = (int) ((i * 2654435761L) % c.vocabSize());
        }
        TokenStreamSource data = new TokenStreamSource(stream, 3);
        Batch batch = new Batch(b, t);
        NextTokenLoss loss = new NextTokenLoss();
        double[] step = new double[repeats], fwd = new double[repeats];
        for (int r = -WARMUP; r < repeats; r++) {
            data.next(batch);
            batch.split();
            w.zeroGrad();
            long t0 = System.nanoTime();
            model.forward(a, batch.inputs, null);
            long t1 = System.nanoTime();
            w.zeroGrad();
            loss.microStep(model, a, batch, 1f);
            long t2 = System.nanoTime();
            if (r >= 0) {
                fwd[r] = (t1 - t0) / 1e9;
                step[r] = (t2 - t1) / 1e9;
            }
        }
        double stepS = median(step), fwdS = median(fwd);
        double flops = flopsPerStep(c, b, t);
        long tokens = (long) b * t;
        out.printf(
                Locale.ROOT,
                "model: dim %d, %d layers, %d heads / %d KV, hidden %d, vocab %d; %,d parameters; B=%d T=%d%n",
                c.dim(),
                c.layers(),
                c.heads(),
                c.kvHeads(),
                c.hiddenDim(),
                c.vocabSize(),
                w.count(),
                b,
                t);
        out.printf(
                Locale.ROOT,
                "training step (forward+loss+backward): %.3f s, %,.0f tokens/s, %.1f GFLOP/s = %.0f%% of peak%n",
                stepS,
                tokens / stepS,
                flops / stepS / 1e9,
                100 * flops / stepS / 1e9 / peak);
        out.printf(Locale.ROOT, "forward alone: %.3f s (%.0f%% of a step)%n", fwdS, 100 * fwdS / stepS);
        out.printf(
                Locale.ROOT,
                "useful FLOPs per step: %.2f G (matmuls %.2f G, attention %.2f G)%n",
                flops / 1e9,
                matmulFlops(c, b, t) / 1e9,
                (flops - matmulFlops(c, b, t)) / 1e9);
    }

    static double matmulFlops(LlamaConfig c, int b, int t) {
        long perLayer =
                (long) c.dim() * (c.qDim() + 2L * c.kvDim()) + (long) c.qDim() * c.dim() + 3L * c.dim() * c.hiddenDim();
        long weights = perLayer * c.layers() + (long) c.vocabSize() * c.dim();
        return 6.0 * weights * b * t;
    }

    static double flopsPerStep(LlamaConfig c, int b, int t) {
        double causalPairs = t * (t + 1) / 2.0;
        double attention = 6 * 2 * causalPairs * c.headSize() * c.heads() * b * c.layers();
        return matmulFlops(c, b, t) + attention;
    }

    private double gemmPeak() {
        int n = 1024;
        float[] x = new float[n * n], y = new float[n * n], z = new float[n * n];
        Arrays.fill(x, 0.5f);
        Arrays.fill(y, 0.25f);
        double[] times = new double[repeats];
        for (int r = -1; r < repeats; r++) {
            long t0 = System.nanoTime();
            Gemm.parallel(n, n, n, x, 0, n, 1, y, 0, n, z, 0, n, false);
            if (r >= 0) {
                times[r] = (System.nanoTime() - t0) / 1e9;
            }
        }
        return 2.0 * n * n * n / median(times) / 1e9;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
