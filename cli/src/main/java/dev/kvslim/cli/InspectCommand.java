package dev.kvslim.cli;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tensor.FloatTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** What a model file holds: architecture, sizes, weight types, parameters, KV bytes per token. */
@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = "Show a model's architecture, sizes, weight types, parameter count and KV bytes per token.")
final class InspectCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "Model file (GGUF or llama2.c checkpoint).")
    Path path;

    @Option(
            names = "--tokenizer",
            description = "Tokenizer for a llama2.c checkpoint (default: tokenizer.bin beside it).")
    Path tokenizer;

    @Override
    public Integer call() throws IOException {
        LoadedModel loaded = ModelLoader.load(path, tokenizer);
        Model m = loaded.model();
        LlamaConfig c = m.config();
        Map<String, Long> types = new TreeMap<>();
        for (FloatTensor t : m.weights().matrices()) {
            types.merge(t.format(), t.size(), Long::sum);
        }
        row("file", path + " (" + Files.size(path) + " bytes)");
        row("format", loaded.format());
        row("architecture", c.architecture());
        row("dim", c.dim());
        row("hidden dim", c.hiddenDim());
        row("layers", c.layers());
        row(
                "heads",
                c.heads() + " query, " + c.kvHeads() + " key/value (" + c.groupSize() + " per group), head size "
                        + c.headSize());
        row("vocabulary", c.vocabSize() + " (tokenizer: " + loaded.tokenizer().vocabSize() + ")");
        row("context", c.contextLength());
        row("rope", c.ropeStyle().name().toLowerCase(java.util.Locale.ROOT) + ", theta " + c.ropeTheta());
        row("norm eps", c.normEps());
        row("embeddings", c.tiedEmbeddings() ? "tied (classifier = token embedding)" : "untied");
        StringBuilder t = new StringBuilder();
        types.forEach((k, v) ->
                t.append(t.isEmpty() ? "" : ", ").append(k).append(": ").append(v));
        row("weight types", t + " values");
        row("parameters", String.format("%,d", m.parameterCount()));
        row(
                "kv bytes/token",
                c.kvBytesPerToken(Float.BYTES) + " (F32: 2 x " + c.layers() + " layers x " + c.kvDim() + " values)");
        return 0;
    }

    private static void row(String key, Object value) {
        System.out.printf("%-15s %s%n", key, value);
    }
}
