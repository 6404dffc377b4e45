package dev.kvslim.core.tokenizer;

import dev.kvslim.core.testing.Fixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Reads the tokenizer goldens of the shared fixtures: texts with the ids an independent tokenizer gave them. */
final class TokenizerGoldens {

    private static final String VOCAB_TEST_SEPARATOR = "\n__ggml_vocab_test__\n";

    /** A text and its expected ids. */
    record Case(int index, String text, int[] ids) {

        /** A one-line description for test names: index and the text with control characters escaped. */
        String label() {
            String shown = text.length() > 40 ? text.substring(0, 40) + "…" : text;
            return "#" + index + " \"" + shown.replace("\n", "\\n").replace("\t", "\\t") + "\"";
        }
    }

    private TokenizerGoldens() {}

    /** The {@code cases} of a llama2.c encoding golden ({@code text}, {@code ids}). */
    static List<Case> jsonCases(String fixture) {
        JsonNode root = JsonMapper.builder().build().readTree(Fixtures.path(fixture));
        List<Case> cases = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            int[] ids = new int[c.get("ids").size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = c.get("ids").get(i).asInt();
            }
            cases.add(new Case(cases.size(), c.get("text").asString(), ids));
        }
        return cases;
    }

    /** llama.cpp's vocabulary tests: texts of {@code <vocab>.inp} with the ids of the same line of {@code <vocab>.out}. */
    static List<Case> vocabCases(String vocabFixture) {
        Path inp = Fixtures.path(vocabFixture + ".inp");
        Path out = Fixtures.path(vocabFixture + ".out");
        try {
            List<String> texts = new ArrayList<>(
                    Arrays.asList(Files.readString(inp).split(Pattern.quote(VOCAB_TEST_SEPARATOR), -1)));
            if (!texts.getLast().isEmpty()) {
                throw new IllegalStateException(inp + " does not end with the separator");
            }
            texts.removeLast();
            List<String> lines = Files.readAllLines(out);
            if (lines.size() != texts.size()) {
                throw new IllegalStateException(
                        inp + " has " + texts.size() + " texts, " + out + " " + lines.size() + " lines");
            }
            List<Case> cases = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) {
                String line = lines.get(i).strip();
                int[] ids = line.isEmpty()
                        ? new int[0]
                        : Arrays.stream(line.split(" +"))
                                .mapToInt(Integer::parseInt)
                                .toArray();
                cases.add(new Case(i, texts.get(i), ids));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
