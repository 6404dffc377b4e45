package dev.kvslim.cli;

import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.model.DmsConfig;
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

    @Parameters(index = "0", description = "Model: a Hugging Face folder, a GGUF file or a llama2.c checkpoint.")
    Path path;

    @Option(
            names = "--tokenizer",
            description = "Tokenizer for a llama2.c checkpoint (default: tokenizer.bin beside it).")
    Path tokenizer;

    @Override
    public Integer call() throws IOException {
        ModelLoader.ModelFile file = ModelLoader.loadModel(path);
        Model m = file.model();
        LlamaConfig c = m.config();
        Map<String, Long> types = new TreeMap<>();
        for (FloatTensor t : m.weights().matrices()) {
            types.merge(t.format(), t.size(), Long::sum);
        }
        row(
                "file",
                path + " (" + String.format("%,d", bytes(path)) + " bytes"
                        + (Files.isDirectory(path) ? " in its files" : "") + ")");
        row("format", file.format());
        row("architecture", c.architecture());
        row("dim", c.dim());
        row("hidden dim", c.hiddenDim());
        row("layers", c.layers());
        row(
                "heads",
                c.heads() + " query, " + c.kvHeads() + " key/value (" + c.groupSize() + " per group), head size "
                        + c.headSize());
        row("vocabulary", c.vocabSize() + " (tokenizer: " + tokenizerSize(file) + ")");
        row("context", c.contextLength());
        row("rope", c.ropeStyle().name().toLowerCase(java.util.Locale.ROOT) + ", theta " + c.ropeTheta());
        row("norm eps", c.normEps());
        row("embeddings", c.tiedEmbeddings() ? "tied (classifier = token embedding)" : "untied");
        StringBuilder t = new StringBuilder();
        types.forEach((k, v) ->
                t.append(t.isEmpty() ? "" : ", ").append(k).append(": ").append(v));
        row("weight types", t + " values");
        row("parameters", String.format("%,d", m.parameterCount()));
        StringBuilder kvBytes = new StringBuilder(
                c.kvBytesPerToken(KvType.F32) + " (F32: 2 x " + c.layers() + " layers x " + c.kvDim() + " values)");
        for (KvType type : KvType.values()) {
            if (type != KvType.F32 && (type != KvType.Q4_0 || c.headSize() % 2 == 0)) {
                kvBytes.append(", ").append(type).append(' ').append(c.kvBytesPerToken(type));
            }
        }
        row("kv bytes/token", kvBytes);
        DmsConfig dms = c.dms();
        row(
                "dms",
                dms == null
                        ? "none (the cache keeps every token unless a training-free --kv-policy evicts)"
                        : "window " + dms.window() + ", decisions from the "
                                + (dms.variant() == DmsConfig.Variant.ADAPTER ? "adapter" : "query channel")
                                + " (logit = " + dms.scale() + " x a - " + dms.offset() + ")"
                                + (dms.perLayer() ? ", one decision per layer" : ", one per KV head"));
        return 0;
    }

    /** The tokenizer's vocabulary size, or why there is none (inspect does not need one; the weights are not read again). */
    private String tokenizerSize(ModelLoader.ModelFile file) {
        try {
            return Integer.toString(
                    ModelLoader.withTokenizer(file, tokenizer).tokenizer().vocabSize());
        } catch (ModelFormatException e) {
            return "none found: " + e.getMessage();
        }
    }

    /** A file's size, or the sum of a folder's files. */
    private static long bytes(Path path) throws IOException {
        if (!Files.isDirectory(path)) {
            return Files.size(path);
        }
        try (var files = Files.walk(path)) {
            long sum = 0;
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                sum += Files.size(p);
            }
            return sum;
        }
    }

    private static void row(String key, Object value) {
        System.out.printf("%-15s %s%n", key, value);
    }
}
