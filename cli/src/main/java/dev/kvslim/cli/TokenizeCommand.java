package dev.kvslim.cli;

import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Prints the token ids of a text as one JSON array. */
@Command(
        name = "tokenize",
        mixinStandardHelpOptions = true,
        description = "Print the token ids of a text as a JSON array.")
final class TokenizeCommand implements Callable<Integer> {

    @Option(
            names = "--tokenizer",
            required = true,
            description = "llama2.c tokenizer.bin, or any GGUF file with a vocabulary.")
    Path tokenizer;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", description = "The text.")
        String text;

        @Option(names = "--stdin", description = "Read the text (UTF-8) from standard input.")
        boolean stdin;
    }

    @Option(names = "--add-special", description = "Add the special tokens the model expects (BOS).")
    boolean addSpecial;

    @Override
    public Integer call() throws IOException {
        Tokenizer tok = ModelLoader.loadTokenizer(tokenizer);
        String text = input.stdin ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8) : input.text;
        int[] ids = tok.encode(text, addSpecial);
        System.out.println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(", ", "[", "]")));
        return 0;
    }
}
