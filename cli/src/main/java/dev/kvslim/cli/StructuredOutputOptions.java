package dev.kvslim.cli;

import dev.kvslim.core.constrain.Expr;
import dev.kvslim.core.constrain.Grammar;
import dev.kvslim.core.constrain.JsonSchemaGrammar;
import dev.kvslim.core.constrain.RegexGrammar;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import picocli.CommandLine.Option;

/**
 * Structured output for the commands that generate: the text is decoded under a JSON schema, any JSON object, a regular
 * expression or a list of choices (the server's {@code response_format} and {@code guided_*} fields, on the command
 * line). At most one of them.
 */
final class StructuredOutputOptions {

    @Option(
            names = "--json-schema",
            paramLabel = "SCHEMA",
            description = "Write JSON that validates against this JSON Schema (a file, or the schema itself).")
    String jsonSchema;

    @Option(names = "--json-object", description = "Write one JSON object.")
    boolean jsonObject;

    @Option(
            names = "--regex",
            paramLabel = "PATTERN",
            description = "Write text this regular expression matches whole.")
    String regex;

    @Option(names = "--choice", paramLabel = "TEXT", description = "Write exactly one of these texts (repeatable).")
    List<String> choices;

    /** The grammar asked for, or null for free text. */
    Grammar grammar() {
        int given = (jsonSchema != null ? 1 : 0)
                + (jsonObject ? 1 : 0)
                + (regex != null ? 1 : 0)
                + (choices != null ? 1 : 0);
        if (given > 1) {
            throw new IllegalArgumentException(
                    "--json-schema, --json-object, --regex and --choice exclude each other: give one");
        }
        if (jsonSchema != null) {
            String schema = jsonSchema.strip();
            if (!schema.startsWith("{") && !schema.equals("true")) {
                Path file = Path.of(schema);
                try {
                    schema = Files.readString(file, StandardCharsets.UTF_8);
                } catch (IOException e) {
                    throw new IllegalArgumentException(
                            "--json-schema: cannot read " + file + " (" + e.getMessage() + ")");
                }
            }
            String text = schema;
            return prefixed("--json-schema", () -> JsonSchemaGrammar.of(text));
        }
        if (jsonObject) {
            return JsonSchemaGrammar.anyObject();
        }
        if (regex != null) {
            return prefixed("--regex", () -> RegexGrammar.of(regex));
        }
        if (choices != null) {
            List<Expr> options = new ArrayList<>();
            for (String c : choices) {
                if (c.isEmpty()) {
                    throw new IllegalArgumentException("--choice must not be empty");
                }
                options.add(Expr.literal(c));
            }
            return Grammar.of(Expr.alt(options));
        }
        return null;
    }

    private static Grammar prefixed(String option, Supplier<Grammar> compile) {
        try {
            return compile.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }
}
