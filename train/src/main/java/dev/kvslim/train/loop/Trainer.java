package dev.kvslim.train.loop;

import dev.kvslim.core.io.AtomicFiles;
import dev.kvslim.train.checkpoint.Checkpoint;
import dev.kvslim.train.checkpoint.HfModelFiles;
import dev.kvslim.train.data.Batch;
import dev.kvslim.train.data.TokenSource;
import dev.kvslim.train.model.Activations;
import dev.kvslim.train.model.TrainWeights;
import dev.kvslim.train.model.Transformer;
import dev.kvslim.train.optim.AdamW;
import dev.kvslim.train.optim.GradientClipping;
import dev.kvslim.train.random.Rng;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The training loop: per step, {@code accumulation} micro-batches from the {@link TokenSource} through the
 * {@link LossFunction} (gradients summed, each micro-batch weighted {@code 1/accumulation}), global-norm clipping,
 * one AdamW update at the scheduled learning rate; checkpoints every {@code checkpointEvery} steps and at the end.
 * Everything that decides a step (weights, moments, data and RNG state) is in the checkpoint, and every kernel sums
 * in a fixed order, so a run resumed from a checkpoint produces the same losses, bit for bit, as one that was
 * never interrupted (for the same thread count).
 */
public final class Trainer {

    private final TrainConfig cfg;
    private final TrainWeights weights;
    private final Transformer model;
    private final Activations acts;
    private final Batch batch;
    private final TokenSource data;
    private final LossFunction loss;
    private final AdamW optimizer;
    /** Randomness of the run beyond initialisation and data (DMS noise will draw from it). */
    private final Rng rng;

    private int step;
    private long tokens;
    private long bos = -1, eos = -1;

    /** A run from {@code weights} (initialised or loaded by the caller). */
    public Trainer(TrainConfig cfg, TrainWeights weights, TokenSource data, LossFunction loss) {
        if (!weights.config.equals(cfg.model()) && !sameShape(weights, cfg)) {
            throw new IllegalArgumentException("the weights do not have the configured model shape");
        }
        this.cfg = cfg;
        this.weights = weights;
        this.model = new Transformer(weights);
        this.acts = model.newActivations(cfg.batch(), cfg.seq(), loss.usesAttentionBias());
        this.batch = new Batch(cfg.batch(), cfg.seq());
        this.data = data;
        this.loss = loss;
        cfg.freeze().apply(weights.parameters());
        this.optimizer = new AdamW(weights.parameters(), cfg.beta1(), cfg.beta2(), cfg.eps(), cfg.weightDecay());
        this.rng = new Rng(cfg.seed() ^ 0x5DEECE66DL);
    }

    /** A fresh run: weights initialised from the seed. */
    public static Trainer fresh(TrainConfig cfg, TokenSource data, LossFunction loss) {
        TrainWeights w = new TrainWeights(cfg.model());
        w.initialise(cfg.seed());
        return new Trainer(cfg, w, data, loss);
    }

    private static boolean sameShape(TrainWeights w, TrainConfig cfg) {
        var a = w.config;
        var b = cfg.model();
        return a.dim() == b.dim()
                && a.hiddenDim() == b.hiddenDim()
                && a.layers() == b.layers()
                && a.heads() == b.heads()
                && a.kvHeads() == b.kvHeads()
                && a.vocabSize() == b.vocabSize();
    }

    /** Token ids saved into config.json of saved models. */
    public void setSpecialTokens(long bos, long eos) {
        this.bos = bos;
        this.eos = eos;
    }

    /**
     * Continues from the newest complete checkpoint in the output folder, if there is one; returns whether it did.
     */
    public boolean resume() {
        Path dir = Checkpoint.locate(cfg.outDir());
        if (dir == null) {
            return false;
        }
        Checkpoint.State s = Checkpoint.load(dir, weights, optimizer);
        if (s.step() > cfg.steps()) {
            throw new IllegalArgumentException("cannot resume from checkpoint " + dir + ": its state.json is at step "
                    + s.step() + ", past this run's " + cfg.steps() + " steps");
        }
        step = s.step();
        tokens = s.tokens();
        rng.setState(s.rngState());
        data.restore(s.dataState());
        return true;
    }

    public int step() {
        return step;
    }

    public TrainWeights weights() {
        return weights;
    }

    public Transformer model() {
        return model;
    }

    public Rng rng() {
        return rng;
    }

    /** One optimiser step. */
    public StepResult trainStep(long startNanos) {
        weights.zeroGrad();
        double lossSum = 0;
        for (int micro = 0; micro < cfg.accumulation(); micro++) {
            data.next(batch);
            batch.split();
            loss.beginMicroStep(step, micro);
            lossSum += loss.microStep(model, acts, batch, 1f / cfg.accumulation());
            tokens += (long) cfg.batch() * cfg.seq();
        }
        float meanLoss = (float) (lossSum / cfg.accumulation());
        if (!Float.isFinite(meanLoss)) {
            throw new IllegalStateException(
                    "the loss became " + meanLoss + " at step " + (step + 1) + " (learning rate too high?)");
        }
        double norm = GradientClipping.globalNorm(weights.parameters());
        float lr = cfg.lr().at(step);
        optimizer.step(lr, GradientClipping.scale(norm, cfg.clip()));
        step++;
        return new StepResult(step, meanLoss, lr, norm, tokens, (System.nanoTime() - startNanos) / 1e9);
    }

    /** Trains up to the configured step count, checkpointing as configured, then saves the model to {@code OUT/model}. */
    public void run(StepCallback callback) throws IOException {
        long start = System.nanoTime();
        while (step < cfg.steps()) {
            StepResult r = trainStep(start);
            if (callback != null) {
                callback.afterStep(r, cfg.steps());
            }
            boolean due = cfg.checkpointEvery() > 0 && step % cfg.checkpointEvery() == 0;
            if (due || step == cfg.steps()) {
                checkpoint();
            }
        }
        saveModel(cfg.outDir().resolve("model"));
    }

    /** Writes a checkpoint of the current state. */
    public Path checkpoint() throws IOException {
        return Checkpoint.save(
                cfg.outDir(),
                weights,
                optimizer,
                new Checkpoint.State(step, optimizer.stepCount(), tokens, rng.state(), data.state()),
                cfg.tokenizer(),
                bos,
                eos);
    }

    /** Saves the model as a Hugging Face folder at {@code dir} (written aside, then renamed over any old one). */
    public Path saveModel(Path dir) throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = AtomicFiles.partialDirectory(dir);
        HfModelFiles.write(weights, tmp, bos, eos);
        Checkpoint.copyTokenizer(cfg.tokenizer(), tmp);
        Path old = parent.resolve(dir.getFileName() + ".old");
        if (Files.exists(dir)) {
            Checkpoint.deleteTree(old);
            Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        Checkpoint.deleteTree(old);
        return dir;
    }
}
