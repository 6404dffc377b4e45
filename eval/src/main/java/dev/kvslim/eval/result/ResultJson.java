package dev.kvslim.eval.result;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@link EvalResult}s as JSON lines, one object per result with snake_case keys: {@code task, policy, target_ratio,
 * achieved_ratio, accuracy, samples, kv_bytes_peak, decode_tokens_per_s} and the rest of the record's fields
 * ({@code kv_trace} as {@code {"generated": [...], "bytes": [...]}}). Absent values are JSON null, so every line has
 * every key.
 */
public final class ResultJson {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private ResultJson() {}

    /** One line of JSON, without the newline. */
    public static String line(EvalResult r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("model", r.model());
        o.put("task", r.task());
        o.put("policy", r.policy());
        o.put("target_ratio", r.targetRatio());
        o.put("achieved_ratio", r.achievedRatio());
        o.put("accuracy", r.accuracy());
        o.put("correct", r.correct());
        o.put("samples", r.samples());
        o.put("kv_bytes_peak", r.kvBytesPeak());
        o.put("kv_bytes_peak_mean", r.kvBytesPeakMean());
        o.put("decode_tokens_per_s", r.decodeTokensPerS());
        o.put("votes", r.votes());
        o.put("temperature", r.temperature());
        o.put("context", r.context());
        o.put("seed", r.seed());
        o.put("seconds", r.seconds());
        o.put("kl", r.kl());
        o.put("ppl_dense", r.perplexityDense());
        o.put("ppl", r.perplexity());
        if (r.trace() == null) {
            o.putNull("kv_trace");
        } else {
            ObjectNode t = o.putObject("kv_trace");
            ArrayNode g = t.putArray("generated");
            for (int v : r.trace().generated()) {
                g.add(v);
            }
            ArrayNode b = t.putArray("bytes");
            for (long v : r.trace().bytes()) {
                b.add(v);
            }
        }
        return JSON.writeValueAsString(o);
    }

    /**
     * The result on one line.
     *
     * @throws IllegalArgumentException if the line is not JSON or lacks a required key
     */
    public static EvalResult parse(String line) {
        JsonNode o;
        try {
            o = JSON.readTree(line);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("not a JSON result line: " + e.getOriginalMessage());
        }
        if (o == null || !o.isObject()) {
            throw new IllegalArgumentException("not a JSON object: " + abbreviate(line));
        }
        for (String key : List.of("task", "policy", "achieved_ratio", "samples", "kv_bytes_peak")) {
            if (o.path(key).isMissingNode() || o.path(key).isNull()) {
                throw new IllegalArgumentException("result line lacks '" + key + "': " + abbreviate(line));
            }
        }
        KvTrace trace = null;
        JsonNode t = o.path("kv_trace");
        if (t.isObject()) {
            JsonNode g = t.path("generated"), b = t.path("bytes");
            int[] generated = new int[g.size()];
            long[] bytes = new long[b.size()];
            for (int i = 0; i < generated.length; i++) {
                generated[i] = g.get(i).asInt();
            }
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = b.get(i).asLong();
            }
            trace = new KvTrace(generated, bytes);
        }
        return new EvalResult(
                o.path("model").asString("model"),
                o.path("task").asString(),
                o.path("policy").asString(),
                nullable(o, "target_ratio"),
                o.path("achieved_ratio").asDouble(),
                nullable(o, "accuracy"),
                o.path("correct").asInt(0),
                o.path("samples").asInt(),
                o.path("kv_bytes_peak").asLong(),
                o.path("kv_bytes_peak_mean").asDouble(0),
                o.path("decode_tokens_per_s").asDouble(0),
                o.path("votes").asInt(1),
                o.path("temperature").asDouble(0),
                o.path("context").asInt(0),
                o.path("seed").asLong(0),
                o.path("seconds").asDouble(0),
                nullable(o, "kl"),
                nullable(o, "ppl_dense"),
                nullable(o, "ppl"),
                trace);
    }

    /**
     * Every result of a JSON-lines file (blank lines skipped).
     *
     * @throws IllegalArgumentException naming the file and line of a bad line, or a file that cannot be read
     */
    public static List<EvalResult> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read results " + file + ": " + e.getMessage(), e);
        }
        List<EvalResult> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            try {
                out.add(parse(lines.get(i)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + " line " + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    /** Appends {@code results} to {@code file} as JSON lines, creating it if needed. */
    public static void append(Path file, List<EvalResult> results) {
        StringBuilder text = new StringBuilder();
        for (EvalResult r : results) {
            text.append(line(r)).append('\n');
        }
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(
                    file, text, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append results to " + file, e);
        }
    }

    private static Double nullable(JsonNode o, String key) {
        JsonNode v = o.path(key);
        return v.isNumber() ? Double.valueOf(v.asDouble()) : null;
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
