package dev.kvslim.train.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.format.hf.HuggingFaceModels;
import dev.kvslim.core.format.safetensors.SafetensorsFile;
import dev.kvslim.core.io.JsonFiles;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.tensor.Tensors;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Loss and every gradient (parameters and the per-layer attention bias) of a tiny Llama model against PyTorch
 * autograd in float64, from the fixture tools/train_parity/make_fixtures.py wrote. Tolerance: the loss within
 * 1e-5 relative, each tensor's gradient within 1e-5 of that tensor's largest gradient (max abs).
 */
class TorchParityTest {

    @Test
    void lossAndGradientsMatchPyTorchAutograd() throws URISyntaxException {
        Path dir = Path.of(TorchParityTest.class
                        .getResource("/train-parity/case.json")
                        .toURI())
                .getParent();
        LlamaConfig c = HuggingFaceModels.readConfig(dir);
        JsonNode cs = JsonFiles.readObject(dir.resolve("case.json"));
        int b = cs.get("batch").asInt(), t = cs.get("seq").asInt();
        int[] tokens = ints(cs.get("tokens")), targets = ints(cs.get("targets"));
        SafetensorsFile weights = SafetensorsFile.read(dir.resolve("weights.safetensors"));
        SafetensorsFile grads = SafetensorsFile.read(dir.resolve("grads.safetensors"));

        TrainWeights w = new TrainWeights(c);
        for (Parameter p : w.parameters()) {
            float[] v = Tensors.toArray(weights.tensor(p.name()));
            System.arraycopy(v, 0, p.data(), 0, v.length);
        }
        float[][] bias = new float[c.layers()][];
        for (int l = 0; l < c.layers(); l++) {
            bias[l] = Tensors.toArray(weights.tensor("attn_bias." + l));
        }
        TestHooks.Fixed hook = new TestHooks.Fixed(bias);
        Transformer model = new Transformer(w);
        Activations a = model.newActivations(b, t, true);
        model.forward(a, tokens, hook);
        float loss = model.crossEntropy(a, targets, null, 1f / (b * t));
        w.zeroGrad();
        model.backward(a, tokens, hook);

        double expectedLoss = cs.get("loss").asDouble();
        assertThat((double) loss).isCloseTo(expectedLoss, org.assertj.core.api.Assertions.within(1e-5 * expectedLoss));
        for (Parameter p : w.parameters()) {
            assertGradient(p.name(), p.grad(), Tensors.toArray(grads.tensor(p.name())));
        }
        for (int l = 0; l < c.layers(); l++) {
            assertGradient("attn_bias." + l, hook.grad[l], Tensors.toArray(grads.tensor("attn_bias." + l)));
        }
    }

    private static void assertGradient(String name, float[] actual, float[] expected) {
        double scale = 0, err = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(actual[i] - expected[i]));
        }
        assertThat(scale).as(name + " has a non-zero gradient").isGreaterThan(0);
        assertThat(err / scale)
                .as("%s: max abs error %g at gradient scale %g", name, err, scale)
                .isLessThanOrEqualTo(1e-5);
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
