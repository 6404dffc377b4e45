package dev.kvslim.train.loop;

import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.train.data.TokenStreamSource;
import dev.kvslim.train.optim.LearningRateSchedule;
import java.nio.file.Path;

/** A tiny training run shared by the resume tests and the child JVM they kill. */
final class TinyRuns {

    static final int STEPS = 12;

    private TinyRuns() {}

    static TrainConfig config(Path out) {
        LlamaConfig model = LlamaConfig.builder()
                .architecture("LlamaForCausalLM")
                .dim(32)
                .hiddenDim(64)
                .layers(2)
                .heads(4)
                .kvHeads(2)
                .headSize(8)
                .vocabSize(50)
                .contextLength(64)
                .build();
        LearningRateSchedule lr = new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 3e-3f, 3, STEPS, 3e-4f);
        return TrainConfig.of(model, 2, 16, STEPS, lr, 1234, out)
                .withAccumulation(2)
                .withCheckpointEvery(3);
    }

    /** A token stream with structure worth learning: a repeating pattern with a little noise. */
    static TokenStreamSource data(long seed) {
        int[] stream = new int[5000];
        dev.kvslim.train.random.Rng rng = new dev.kvslim.train.random.Rng(77);
        for (int i = 0; i < stream.length; i++) {
            stream[i] = rng.nextDouble() < 0.1 ? rng.nextInt(50) : (i * 7) % 50;
        }
        return new TokenStreamSource(stream, seed);
    }

    static Trainer trainer(Path out) {
        return Trainer.fresh(config(out), data(99), new NextTokenLoss());
    }
}
