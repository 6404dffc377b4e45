package dev.kvslim.serve.savings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The requests a savings report (or load test) runs: prompts with how many tokens to generate for each. A workload
 * file is JSON Lines, one request a line: {@code {"prompt": "Once upon a time", "max_tokens": 128}}; blank lines and
 * lines starting with {@code #} are skipped.
 *
 * @param name     where it came from, for reports
 * @param requests at least one
 */
public record Workload(String name, List<Request> requests) {

    /** One request: a prompt and the tokens to generate (all of them: end-of-generation tokens are ignored). */
    public record Request(String prompt, int maxTokens) {

        public Request {
            if (prompt.isEmpty() || maxTokens < 1) {
                throw new IllegalArgumentException(
                        "a request needs a prompt and max_tokens >= 1: '" + prompt + "', " + maxTokens);
            }
        }
    }

    private static final String[] STARTS = {
        "Once upon a time",
        "The little dog",
        "Lily and Ben went to the park",
        "One day",
        "There was a big red ball that",
        "Tom liked to",
        "The sun was",
        "A girl named Sue",
        "The cat sat on the mat and",
        "Sam had a toy car",
        "In the garden there was a",
        "Mom said it was time to",
        "The bird could not fly because",
        "Max wanted to play",
        "It was a cold winter day",
        "The boy found a shiny",
    };

    public Workload {
        requests = List.copyOf(requests);
        if (requests.isEmpty()) {
            throw new IllegalArgumentException("the workload '" + name + "' has no requests");
        }
    }

    /**
     * 32 short story prompts generating 64 to 256 tokens each (four lengths, cycled), sized for small models with
     * contexts of 512 tokens or more.
     */
    public static Workload builtIn() {
        int[] lengths = {64, 128, 192, 256};
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            requests.add(new Request(STARTS[i % STARTS.length], lengths[i % lengths.length]));
        }
        return new Workload("built-in (32 story prompts, 64-256 tokens)", requests);
    }

    /** Reads a JSON Lines workload file (see the class comment); an error names the file and line. */
    public static Workload read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the workload " + file + ": " + e.getMessage(), e);
        }
        JsonMapper json = JsonMapper.builder().build();
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String at = file + " line " + (i + 1);
            JsonNode o;
            try {
                o = json.readTree(line);
            } catch (JacksonException e) {
                throw new IllegalArgumentException(at + " is not JSON: " + e.getOriginalMessage());
            }
            if (o == null
                    || !o.isObject()
                    || !o.path("prompt").isString()
                    || o.path("prompt").asString().isEmpty()) {
                throw new IllegalArgumentException(at + " must be an object with a non-empty string \"prompt\" and an"
                        + " integer \"max_tokens\", e.g. {\"prompt\": \"Once upon a time\", \"max_tokens\": 128}");
            }
            JsonNode max = o.get("max_tokens");
            if (max == null || !max.isIntegralNumber() || !max.canConvertToInt() || max.asInt() < 1) {
                throw new IllegalArgumentException(
                        at + ": \"max_tokens\" must be an integer of at least 1, got " + max);
            }
            requests.add(new Request(o.get("prompt").asString(), max.asInt()));
        }
        if (requests.isEmpty()) {
            throw new IllegalArgumentException("the workload " + file + " has no requests (one JSON object a line)");
        }
        return new Workload(file.toString(), requests);
    }
}
