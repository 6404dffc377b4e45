package dev.kvslim.train.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.format.hf.HuggingFaceModels;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.model.RopeStyle;
import dev.kvslim.train.model.Activations;
import dev.kvslim.train.model.Parameter;
import dev.kvslim.train.model.TrainWeights;
import dev.kvslim.train.model.Transformer;
import dev.kvslim.train.random.Rng;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Same model, same semantics in training and inference: weights saved by the trainer as a Hugging Face folder,
 * loaded by the engine, give the engine's logits ({@code Model.forward} over a dense cache, token by token) equal
 * to the trainer's forward logits for the same tokens, within 1e-4 of the logit scale. Covers a plain model
 * (both RoPE pairings: interleaved is reordered on save), a Qwen2-style model with query/key/value biases and
 * tied embeddings, and a DMS variant-B model with non-zero adapter weights run with eviction off (teacher mode).
 */
class EngineParityTest {

    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({
        "LlamaForCausalLM,HALF,false,false",
        "LlamaForCausalLM,INTERLEAVED,false,false",
        "Qwen2ForCausalLM,HALF,true,false",
        "LlamaForCausalLM,HALF,false,true"
    })
    void engineLogitsMatchTrainerLogits(String arch, RopeStyle style, boolean tied, boolean adapter) throws Exception {
        DmsConfig dms = adapter ? new DmsConfig(4, 100f, 5f, DmsConfig.Variant.ADAPTER, false) : null;
        LlamaConfig c = LlamaConfig.builder()
                .architecture(arch)
                .dim(32)
                .hiddenDim(48)
                .layers(2)
                .heads(4)
                .kvHeads(2)
                .headSize(8)
                .vocabSize(40)
                .contextLength(64)
                .ropeStyle(style)
                .tiedEmbeddings(tied)
                .dms(dms)
                .build();
        TrainWeights w = new TrainWeights(c);
        w.initialise(5);
        Rng rng = new Rng(9);
        for (Parameter p : w.parameters()) {
            float[] d = p.data();
            for (int i = 0; i < d.length; i++) {
                d[i] += (float) (rng.nextGaussian() * (p.kind() == Parameter.Kind.NORM ? 0.1 : 0.2));
            }
        }
        int t = 12;
        int[] tokens = new int[t];
        for (int i = 0; i < t; i++) {
            tokens[i] = rng.nextInt(c.vocabSize());
        }
        Transformer model = new Transformer(w);
        Activations a = model.newActivations(1, t, false);
        model.forward(a, tokens, null);

        Path dir = tmp.resolve(arch + style + adapter);
        java.nio.file.Files.createDirectories(dir);
        HfModelFiles.write(w, dir, -1, -1);
        Model engine = HuggingFaceModels.load(dir);
        assertThat(engine.config().dms() != null).isEqualTo(adapter);
        Model.State state = engine.newState(1);
        KvCache cache = engine.newDenseCache(t);
        double scale = 0, err = 0;
        for (int i = 0; i < t; i++) {
            float[] logits = engine.forward(state, tokens, i, 1, i, cache);
            for (int v = 0; v < c.vocabSize(); v++) {
                float expected = a.logits[i * c.vocabSize() + v];
                scale = Math.max(scale, Math.abs(expected));
                err = Math.max(err, Math.abs(logits[v] - expected));
            }
        }
        assertThat(scale).isGreaterThan(0.1);
        assertThat(err)
                .as("max abs logit difference at logit scale %g", scale)
                .isLessThanOrEqualTo(1e-4 * Math.max(1, scale));

        if (style == RopeStyle.HALF) {
            TrainWeights back = HfModelFiles.read(dir);
            for (Parameter p : w.parameters()) {
                assertThat(back.get(p.name()).data()).as(p.name()).containsExactly(p.data());
            }
        }
    }
}
