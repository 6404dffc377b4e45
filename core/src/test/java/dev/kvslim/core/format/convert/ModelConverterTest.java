package dev.kvslim.core.format.convert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufModels;
import dev.kvslim.core.format.gguf.GgufQuantizer;
import dev.kvslim.core.format.hf.HuggingFaceModels;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.model.RopeStyle;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.Tensors;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.core.testing.ParityFolders;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Conversions keep the model: the converted file gives the same logits as the original (the PyTorch-checked
 * parity folders one way, llama2.c's stories260K GGUF the other way and back), and a round trip restores the
 * original bytes.
 */
class ModelConverterTest {

    @TempDir
    Path dir;

    private static final int[] PROMPT = {1, 17, 42, 5, 88, 23, 61, 9, 33};

    private static float[] logits(Model m, int[] prompt) {
        return m.forward(m.newState(prompt.length), prompt, 0, prompt.length, 0, m.newDenseCache(prompt.length))
                .clone();
    }

    @ParameterizedTest
    @CsvSource({"llama-f32", "llama-bf16", "mistral-f32", "qwen2-f32", "qwen3-bf16"})
    void folderToGgufKeepsTheLogits(String name) throws IOException {
        Model hf = HuggingFaceModels.load(ParityFolders.path(name));
        Path out = dir.resolve(name + ".gguf");
        ModelConverter.Report r = ModelConverter.folderToGguf(ParityFolders.path(name), out);
        assertThat(r.notes()).anyMatch(n -> n.contains("no vocabulary"));
        GgufFile gguf = GgufFile.read(out);
        Model converted = GgufModels.load(gguf);
        assertThat(converted.config().slidingWindow()).isEqualTo(hf.config().slidingWindow());
        if (name.startsWith("llama") || name.startsWith("mistral")) {
            assertThat(converted.config().ropeStyle()).isEqualTo(RopeStyle.INTERLEAVED); // rows were permuted
        }
        if (name.startsWith("llama")) {
            assertThat(gguf.tensors()).containsKey("rope_freqs.weight");
        }
        assertThat(logits(converted, PROMPT)).containsExactly(logits(hf, PROMPT), within(1e-5f));
    }

    @Test
    void ggufToFolderAndBackKeepsTheModel() throws IOException {
        Path source = Fixtures.path("stories260K/derived/stories260K.gguf");
        Model original = GgufModels.load(GgufFile.read(source));
        int[] prompt = {1, 403, 407, 261, 378};

        Path folder = dir.resolve("stories-hf");
        ModelConverter.Report r = ModelConverter.ggufToFolder(source, folder);
        assertThat(folder.resolve("config.json")).exists();
        assertThat(folder.resolve("tokenizer.gguf")).exists();
        assertThat(r.notes()).anyMatch(n -> n.contains("tokenizer.gguf"));
        Model hf = HuggingFaceModels.load(folder);
        assertThat(hf.config().ropeStyle()).isEqualTo(RopeStyle.HALF);
        assertThat(logits(hf, prompt)).containsExactly(logits(original, prompt), within(1e-5f));

        Path back = dir.resolve("back.gguf");
        ModelConverter.folderToGguf(folder, back);
        GgufFile again = GgufFile.read(back);
        GgufFile first = GgufFile.read(source);
        for (String name : new String[] {"blk.0.attn_q.weight", "blk.4.attn_k.weight", "token_embd.weight"}) {
            assertThat(again.tensorData(again.tensors().get(name)).toArray(ValueLayout.JAVA_BYTE))
                    .as(name)
                    .isEqualTo(first.tensorData(first.tensors().get(name)).toArray(ValueLayout.JAVA_BYTE));
        }
        assertThat(again.getStrings("tokenizer.ggml.tokens")).isEqualTo(first.getStrings("tokenizer.ggml.tokens"));
        assertThat(logits(GgufModels.load(again), prompt)).containsExactly(logits(original, prompt), within(1e-6f));
    }

    @Test
    void blockTypesExpandToF32AndTheFolderMustBeNew() throws IOException {
        Path q8 = dir.resolve("q8.gguf");
        GgufQuantizer.quantize(GgufFile.read(Fixtures.path("stories260K/derived/stories260K.gguf")), GgmlType.Q8_0, q8);
        Path folder = dir.resolve("q8-hf");
        ModelConverter.Report r = ModelConverter.ggufToFolder(q8, folder);
        assertThat(r.notes()).anyMatch(n -> n.contains("expanded to F32"));
        Model expanded = HuggingFaceModels.load(folder), quantized = GgufModels.load(GgufFile.read(q8));
        List<FloatTensor> from = quantized.weights().matrices(),
                to = expanded.weights().matrices();
        assertThat(to).hasSameSizeAs(from);
        for (int i = 0; i < from.size(); i++) {
            // the same values (the query and key rows in the folder's order, hence sorted)
            float[] a = Tensors.toArray(to.get(i)), b = Tensors.toArray(from.get(i));
            Arrays.sort(a);
            Arrays.sort(b);
            assertThat(a).as("matrix %d", i).containsExactly(b);
        }
        // and in their places: the Q8_0 model's integer kernels (16-lane vectors) round the activations to 8 bits,
        // as llama.cpp does, which moves these logits (spread over -12 .. 17) by up to 0.18
        int[] prompt = {1, 403, 407};
        assertThat(logits(expanded, prompt)).containsExactly(logits(quantized, prompt), within(0.25f));
        assertThatThrownBy(() -> ModelConverter.ggufToFolder(q8, folder)).hasMessageContaining("not empty");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("partial"));
        }
    }
}
