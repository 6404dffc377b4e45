package dev.kvslim.cli;

import dev.kvslim.core.format.convert.ModelConverter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Moves a model between a Hugging Face folder and GGUF. */
@Command(
        name = "convert",
        mixinStandardHelpOptions = true,
        description = "Convert a Hugging Face model folder to GGUF, or a GGUF model to a Hugging Face folder.")
final class ConvertCommand implements Callable<Integer> {

    enum Target {
        gguf,
        safetensors
    }

    @Option(
            names = "--model",
            required = true,
            description = "Source: a model folder (to gguf) or a .gguf file (to safetensors).")
    Path model;

    @Option(names = "--to", required = true, description = "Target format: ${COMPLETION-CANDIDATES}.")
    Target to;

    @Option(names = "--out", required = true, description = "Output .gguf file, or a new folder for safetensors.")
    Path out;

    @Override
    public Integer call() throws IOException {
        ModelConverter.Report r;
        if (to == Target.gguf) {
            if (!Files.isDirectory(model)) {
                throw new IllegalArgumentException(
                        model + " is not a model folder: --to gguf converts a Hugging Face folder");
            }
            r = ModelConverter.folderToGguf(model, out);
        } else {
            if (Files.isDirectory(model)) {
                throw new IllegalArgumentException(model + " is a folder: --to safetensors converts a .gguf file");
            }
            r = ModelConverter.ggufToFolder(model, out);
        }
        System.err.println("wrote " + r.output());
        r.notes().forEach(n -> System.err.println("  note: " + n));
        return 0;
    }
}
