package dev.kvslim.train.dms;

import dev.kvslim.train.data.Batch;
import dev.kvslim.train.loop.LossFunction;
import dev.kvslim.train.model.Activations;
import dev.kvslim.train.model.Transformer;
import dev.kvslim.train.ops.KlDivergence;

/**
 * The DMS retrofit loss of one micro-batch (spec 3.3): {@code KL(student || teacher)} of the next-token
 * distributions, averaged over the positions whose input token is not EOS, plus the compression hinge
 * {@code mean_b max(0, target_frac(step) - frac_closed_b)}, weight 1:1.
 * <p>The teacher's logits come from a forward without DMS bias on the same tokens, before the student's forward
 * (the two share the activation buffers; the teacher's logits are copied aside):
 * <ul>
 *   <li>{@code teacher == null} (adapter mode): the student itself without the bias hook. With the base weights
 *       frozen and the adapter not touching the query, that is the original model exactly (spec 3.3, T13), and it
 *       costs no second copy of the weights.</li>
 *   <li>otherwise (full mode, variant A): a frozen copy of the original model. The student's own "teacher mode"
 *       would not do: it zeroes the borrowed query channel (P12), and its weights move.</li>
 * </ul>
 * Noise: micro-batch {@code micro} of step {@code step} draws {@link DmsNoise#seed}{@code (seed, step, micro)}.
 */
public final class RetrofitLoss implements LossFunction {

    /** Means over the micro-batches of one step. */
    public record StepMetrics(double kl, double hinge, double fracClosed, double targetFrac) {

        /** Training compression ratio {@code 1 / (1 - frac_closed)} (ignores the window; spec 2.8). */
        public double trainCr() {
            return 1 / Math.max(1e-12, 1 - fracClosed);
        }

        public double targetCr() {
            return 1 / Math.max(1e-12, 1 - targetFrac);
        }
    }

    private final Transformer teacher;
    private final DmsBiasHook hook;
    private final DmsSchedule schedule;
    private final long seed;
    private final int eos;
    private float[] teacherLogits, mask;
    private double target;
    private int step;
    private double klSum, hingeSum, fracSum;
    private int micros;

    /**
     * @param teacher  frozen original model, or null to use the student without the hook (adapter mode)
     * @param eos      end-of-sequence id whose input positions are left out of the KL (-1: none)
     */
    public RetrofitLoss(Transformer teacher, DmsBiasHook hook, DmsSchedule schedule, long seed, int eos) {
        this.teacher = teacher;
        this.hook = hook;
        this.schedule = schedule;
        this.seed = seed;
        this.eos = eos;
    }

    public DmsBiasHook hook() {
        return hook;
    }

    @Override
    public boolean usesAttentionBias() {
        return true;
    }

    @Override
    public void beginMicroStep(int step, int micro) {
        if (micro == 0 || step != this.step) {
            klSum = hingeSum = fracSum = 0;
            micros = 0;
        }
        this.step = step;
        target = schedule.targetFraction(step);
        hook.setNoise(DmsNoise.seed(seed, step, micro));
    }

    @Override
    public float microStep(Transformer model, Activations acts, Batch batch, float scale) {
        int n = acts.n, v = model.config().vocabSize();
        if (teacherLogits == null || teacherLogits.length != acts.logits.length) {
            teacherLogits = new float[acts.logits.length];
            mask = new float[n];
        }
        (teacher == null ? model : teacher).forward(acts, batch.inputs, null);
        System.arraycopy(acts.logits, 0, teacherLogits, 0, teacherLogits.length);

        model.forward(acts, batch.inputs, hook);
        float[] weights = batch.maskOrNull();
        double count = 0;
        for (int i = 0; i < n; i++) {
            mask[i] = batch.inputs[i] == eos ? 0f : weights == null ? 1f : weights[i];
            count += mask[i];
        }
        KlDivergence.forwardBackward(
                acts.losses,
                acts.dlogits,
                acts.logits,
                teacherLogits,
                mask,
                n,
                v,
                count == 0 ? 0f : (float) (scale / count));
        double kl = 0;
        for (int i = 0; i < n; i++) {
            kl += mask[i] * acts.losses[i];
        }
        kl = count == 0 ? 0 : kl / count;
        double hinge = hook.hinge(target);
        double frac = hook.meanFracClosed();
        hook.setHinge(target, scale);
        model.backward(acts, batch.inputs, hook);
        klSum += kl;
        hingeSum += hinge;
        fracSum += frac;
        micros++;
        return (float) (kl + hinge);
    }

    /** The means over the micro-batches of the latest step. */
    public StepMetrics lastStep() {
        int m = Math.max(1, micros);
        return new StepMetrics(klSum / m, hingeSum / m, fracSum / m, target);
    }
}
