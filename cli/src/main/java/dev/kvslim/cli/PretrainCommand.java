package dev.kvslim.cli;

import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.tokenizer.Tokenizer;
import dev.kvslim.train.checkpoint.Checkpoint;
import dev.kvslim.train.config.PretrainConfig;
import dev.kvslim.train.data.TextFileSource;
import dev.kvslim.train.loop.NextTokenLoss;
import dev.kvslim.train.loop.StepLog;
import dev.kvslim.train.loop.Trainer;
import dev.kvslim.train.report.LossPlot;
import dev.kvslim.train.report.ProgressBar;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Trains a small Llama-family model from scratch on a text file, with checkpoints, a step log and a loss plot. */
@Command(
        name = "pretrain",
        mixinStandardHelpOptions = true,
        description =
                "Train a model from scratch on a text file or the task suite (config: JSON, see dev.kvslim.train.config.PretrainConfig).")
final class PretrainCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, description = "Run configuration (JSON).")
    Path config;

    @Option(names = "--resume", description = "Continue from the checkpoint in the output folder.")
    boolean resume;

    @Option(names = "--plot", description = "Write the loss curve to this PNG at the end.")
    Path plot;

    @Option(names = "--out", description = "Output folder (overrides the config's \"out\").")
    Path out;

    @Override
    public Integer call() throws Exception {
        PretrainConfig setup =
                PretrainConfig.read(config, p -> ModelLoader.loadTokenizer(p).vocabSize(), out);
        if (setup.threads() > 0) {
            System.setProperty("kvslim.threads", Integer.toString(setup.threads()));
        }
        var train = setup.train();
        Path outDir = train.outDir();
        if (!resume && Checkpoint.locate(outDir) != null) {
            throw new IllegalArgumentException(
                    outDir + " already holds a checkpoint: pass --resume to continue it, or" + " choose another --out");
        }
        if (setup.demoTokenizer()) {
            dev.kvslim.tasks.tokenizer.DemoTokenizer.write(setup.tokenizer());
        }
        Tokenizer tokenizer = ModelLoader.loadTokenizer(setup.tokenizer());
        if (tokenizer.vocabSize() > train.model().vocabSize()) {
            throw new IllegalArgumentException("the tokenizer has " + tokenizer.vocabSize()
                    + " tokens, more than model.vocab " + train.model().vocabSize());
        }
        dev.kvslim.train.data.TokenSource data;
        String dataDescription;
        if (setup.tasks() != null) {
            var tasks = setup.tasks().keySet().stream()
                    .map(dev.kvslim.tasks.synthetic.TaskSuite::named)
                    .toList();
            double[] weights = setup.tasks().values().stream()
                    .mapToDouble(Double::doubleValue)
                    .toArray();
            data = new dev.kvslim.train.data.TaskSource(
                    tasks, weights, tokenizer, train.seed(), setup.promptWeight(), setup.minContext());
            dataDescription = "tasks " + setup.tasks() + ", prompt weight " + setup.promptWeight()
                    + (setup.minContext() < train.seq() + 1
                            ? ", samples of " + setup.minContext() + ".." + (train.seq() + 1) + " tokens packed per row"
                            : "");
        } else {
            var text = TextFileSource.open(setup.text(), tokenizer, train.seed());
            data = text;
            dataDescription = String.format("%,d training tokens", text.length());
        }
        Trainer trainer = setup.init() == null
                ? Trainer.fresh(train, data, new NextTokenLoss())
                : new Trainer(train, startingWeights(setup.init(), train.model()), data, new NextTokenLoss());
        trainer.setSpecialTokens(tokenizer.bosId(), tokenizer.eosId());
        if (resume && !trainer.resume()) {
            throw new IllegalArgumentException("--resume: no complete checkpoint in " + outDir);
        }
        Files.createDirectories(outDir);
        System.err.printf(
                "pretrain: %,d parameters%s, %s, B=%d T=%d x%d accumulation, %d threads%s%n",
                trainer.weights().count(),
                setup.init() == null ? "" : " from " + setup.init(),
                dataDescription,
                train.batch(),
                train.seq(),
                train.accumulation(),
                dev.kvslim.core.tensor.Parallel.threads(),
                trainer.step() > 0 ? ", resumed at step " + trainer.step() : "");
        Path logFile = outDir.resolve("train_log.jsonl");
        try (StepLog log = new StepLog(logFile, trainer.step())) {
            ProgressBar bar = new ProgressBar(System.err, trainer.step());
            trainer.run((r, total) -> {
                log.afterStep(r, total);
                bar.afterStep(r, total);
            });
        }
        System.err.println("pretrain: model saved to " + outDir.resolve("model") + ", step log " + logFile);
        if (plot != null) {
            LossPlot.write(StepLog.read(logFile), plot, "training loss");
            System.err.println("pretrain: loss plot " + plot);
        }
        return 0;
    }

    /** The config's {@code "init"} model folder as the configured model's starting weights. */
    private static dev.kvslim.train.model.TrainWeights startingWeights(
            Path dir, dev.kvslim.core.model.LlamaConfig shape) {
        try {
            return dev.kvslim.train.checkpoint.HfModelFiles.readAs(dir, shape);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("init: " + e.getMessage(), e);
        }
    }
}
