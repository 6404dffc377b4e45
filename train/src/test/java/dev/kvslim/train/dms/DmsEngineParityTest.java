package dev.kvslim.train.dms;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.format.hf.HuggingFaceModels;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tensor.Kernels;
import dev.kvslim.train.checkpoint.HfModelFiles;
import dev.kvslim.train.model.Activations;
import dev.kvslim.train.model.Parameter;
import dev.kvslim.train.model.TrainWeights;
import dev.kvslim.train.model.Transformer;
import dev.kvslim.train.random.Rng;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What we train is what we serve: with no noise and confident decisions (every |z| well away from 0, a tiny
 * temperature), the training forward with the DMS bias hook gives the same logits as the engine running the saved
 * model through the DMS cache (PagedKvCache in DMS mode: token by token, which evicts as decode does, and as one
 * prefill), for both decision variants. A dense engine run differs, so the evictions really happen.
 */
class DmsEngineParityTest {

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(DmsConfig.Variant.class)
    void trainingAttentionIsTheEnginesDmsCacheAttention(DmsConfig.Variant variant) throws Exception {
        int t = 28, w = 3;
        // offset 0: about half the decisions are "evict"
        DmsConfig dms = new DmsConfig(w, 100f, 0f, variant, false);
        LlamaConfig c = LlamaConfig.builder()
                .architecture("LlamaForCausalLM")
                .dim(32)
                .hiddenDim(48)
                .layers(2)
                .heads(4)
                .kvHeads(2)
                .headSize(8)
                .vocabSize(40)
                .contextLength(64)
                .dms(dms)
                .build();
        TrainWeights weights = new TrainWeights(c);
        weights.initialise(5);
        Rng rng = new Rng(21);
        for (Parameter p : weights.parameters()) {
            float[] d = p.data();
            for (int i = 0; i < d.length; i++) {
                d[i] += (float) (rng.nextGaussian() * (p.kind() == Parameter.Kind.NORM ? 0.1 : 0.3));
            }
        }
        int[] tokens = new int[t];
        for (int i = 0; i < t; i++) {
            tokens[i] = rng.nextInt(c.vocabSize());
        }
        Transformer model = new Transformer(weights);
        Activations a = model.newActivations(1, t, true);
        DmsBiasHook hook = new DmsBiasHook(c, 1, t, 1e-4f);
        hook.clearNoise();
        model.forward(a, tokens, hook);
        double minAbs = Double.MAX_VALUE;
        int evict = 0;
        for (float[] z : a.decisionLogits) {
            for (float v : z) {
                minAbs = Math.min(minAbs, Math.abs(v));
                evict += v > 0 ? 1 : 0;
            }
        }
        assertThat(minAbs).as("every decision is confident at tau 1e-4").isGreaterThan(0.02);
        assertThat(evict).as("some tokens are evicted").isBetween(10, 2 * 2 * t - 10);

        Path dir = tmp.resolve(variant.name());
        Files.createDirectories(dir);
        HfModelFiles.write(weights, dir, -1, -1);
        Model engine = HuggingFaceModels.load(dir);
        assertThat(engine.config().dms()).isEqualTo(dms);
        int v = c.vocabSize();

        PagedKvCache cache = new PagedKvCache(
                engine.config().kvShape(),
                new BlockPool(c.headSize(), Kernels.lanes(), 1L << 24),
                t,
                KvCacheSpec.dms(engine.config().kvShape()));
        Model.State state = engine.newState(t);
        double scale = 0, err = 0;
        for (int i = 0; i < t; i++) {
            float[] logits = engine.forward(state, tokens, i, 1, i, cache);
            for (int j = 0; j < v; j++) {
                float expected = a.logits[i * v + j];
                scale = Math.max(scale, Math.abs(expected));
                err = Math.max(err, Math.abs(logits[j] - expected));
            }
        }
        assertThat(cache.compressionRatio()).as("the engine evicted").isGreaterThan(1.1);
        assertThat(err)
                .as("decode: max abs logit difference at logit scale %g", scale)
                .isLessThanOrEqualTo(1e-3);

        PagedKvCache prefill = new PagedKvCache(
                engine.config().kvShape(),
                new BlockPool(c.headSize(), Kernels.lanes(), 1L << 24),
                t,
                KvCacheSpec.dms(engine.config().kvShape()));
        float[] last = engine.forward(engine.newState(t), tokens, 0, t, 0, prefill);
        double prefillErr = 0;
        for (int j = 0; j < v; j++) {
            prefillErr = Math.max(prefillErr, Math.abs(last[j] - a.logits[(t - 1) * v + j]));
        }
        assertThat(prefillErr).as("prefill: last position").isLessThanOrEqualTo(1e-3);

        float[] dense = engine.forward(engine.newState(t), tokens, 0, t, 0, engine.newDenseCache(t));
        double denseDiff = 0;
        for (int j = 0; j < v; j++) {
            denseDiff = Math.max(denseDiff, Math.abs(dense[j] - a.logits[(t - 1) * v + j]));
        }
        assertThat(denseDiff).as("without eviction the logits differ").isGreaterThan(1e-2);
    }
}
