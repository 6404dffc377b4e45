package dev.kvslim.core.constrain;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Seeded random JSON Schemas over the keywords {@link JsonSchemaGrammar} supports: objects (properties, required,
 * additionalProperties false, true or a schema), arrays (items, minItems, maxItems), strings (enum, const, pattern,
 * minLength, maxLength), numbers and integers with inclusive and exclusive bounds, booleans, null, anyOf, lists of
 * types and $ref into $defs (a recursive tree among them). {@code bounded} keeps every string and array short and
 * allows no extra properties (their keys could be any length), for tests that decode under a token budget.
 */
public final class RandomSchemas {

    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final String[] PATTERNS = {"[a-z]{1,5}", "\\d{3}-\\d{4}", "(yes|no|maybe)", "[A-Z][a-z]{0,6}", "é+x?"
    };
    private static final String[] NAMES = {"id", "name", "tags", "score", "ok", "a", "ab", "note", "kids", "x y", "ü"};

    private final SplittableRandom random;
    private final boolean bounded;

    public RandomSchemas(long seed, boolean bounded) {
        this.random = new SplittableRandom(seed);
        this.bounded = bounded;
    }

    /** A schema document: a random schema, with two definitions it may refer to. */
    public ObjectNode next() {
        ObjectNode root = schema(3, true);
        ObjectNode defs = F.objectNode();
        defs.set("leaf", schema(1, false));
        ObjectNode node = F.objectNode();
        node.put("type", "object");
        ObjectNode props = node.putObject("properties");
        props.putObject("v").put("type", "integer").put("minimum", 0).put("maximum", 99);
        props.putObject("kids")
                .put("type", "array")
                .put("maxItems", 2)
                .set("items", F.objectNode().put("$ref", "#/$defs/node"));
        node.putArray("required").add("v");
        node.put("additionalProperties", false);
        defs.set("node", node);
        if (root.has("$ref") || root.has("anyOf") || root.has("const") || root.has("enum")) {
            ObjectNode wrapper = F.objectNode();
            wrapper.putArray("allOf").add(root);
            root = wrapper;
        }
        root.set("$defs", defs);
        return root;
    }

    private ObjectNode schema(int depth, boolean refs) {
        int kind = random.nextInt(depth > 0 ? 14 : 9);
        ObjectNode s = F.objectNode();
        switch (kind) {
            case 0 -> {
                s.put("type", "string");
                if (random.nextBoolean()) {
                    s.put("minLength", random.nextInt(3));
                }
                if (bounded || random.nextBoolean()) {
                    s.put("maxLength", 3 + random.nextInt(6));
                }
            }
            case 1 -> {
                s.put("type", "string");
                s.put("pattern", PATTERNS[random.nextInt(PATTERNS.length)]);
            }
            case 2 -> {
                ArrayNode values = s.putArray("enum");
                values.add("red").add(random.nextInt(100)).add(random.nextBoolean());
                if (random.nextBoolean()) {
                    values.addNull().add("a \"quoted\" \\ value");
                }
                if (random.nextInt(3) == 0) {
                    s.put("type", "string"); // as LangChain4j and zod write enums: only the strings remain
                }
            }
            case 3 -> s.set("const", random.nextBoolean() ? F.stringNode("fixed") : constObject());
            case 4 -> {
                s.put("type", "integer");
                bounds(s, true);
            }
            case 5 -> {
                s.put("type", "number");
                bounds(s, false);
            }
            case 6 -> s.put("type", "boolean");
            case 7 -> s.put("type", "null");
            case 8 -> {
                ArrayNode types = s.putArray("type");
                types.add("integer").add("null");
                if (random.nextBoolean()) {
                    types.add("boolean");
                }
            }
            case 9, 10, 11 -> object(s, depth, refs);
            case 12 -> {
                s.put("type", "array");
                s.set("items", schema(depth - 1, refs));
                int min = random.nextInt(3);
                if (random.nextBoolean()) {
                    s.put("minItems", min);
                }
                if (bounded || random.nextBoolean()) {
                    s.put("maxItems", min + random.nextInt(3));
                }
            }
            default -> {
                if (refs && random.nextBoolean()) {
                    s.put("$ref", random.nextBoolean() ? "#/$defs/leaf" : "#/$defs/node");
                } else {
                    ArrayNode any = s.putArray("anyOf");
                    any.add(schema(depth - 1, refs));
                    any.add(schema(depth - 1, refs));
                }
            }
        }
        if (random.nextInt(4) == 0) {
            s.put("description", "annotation, ignored");
        }
        return s;
    }

    private void object(ObjectNode s, int depth, boolean refs) {
        s.put("type", "object");
        ObjectNode props = s.putObject("properties");
        List<String> names = new ArrayList<>(List.of(NAMES));
        int n = random.nextInt(4);
        List<String> chosen = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String name = names.remove(random.nextInt(names.size()));
            chosen.add(name);
            props.set(name, schema(depth - 1, refs));
        }
        if (!chosen.isEmpty() && random.nextBoolean()) {
            ArrayNode required = s.putArray("required");
            for (String name : chosen) {
                if (random.nextBoolean()) {
                    required.add(name);
                }
            }
        }
        // extra properties have keys of any length: not in bounded schemas
        switch (random.nextInt(bounded ? 2 : 4)) {
            case 0 -> s.put("additionalProperties", false);
            case 2 -> s.put("additionalProperties", true);
            case 3 -> s.set("additionalProperties", F.objectNode().put("type", "integer"));
            default -> {}
        }
    }

    private JsonNode constObject() {
        ObjectNode o = F.objectNode();
        o.put("k", 1).putArray("list").add("x").add(2.5).addNull();
        return o;
    }

    private void bounds(ObjectNode s, boolean integer) {
        double lo = (random.nextInt(2001) - 1000) / (integer ? 1.0 : 4.0);
        double hi = lo + random.nextInt(400) / (integer ? 1.0 : 8.0) + (integer ? 0 : 1.5);
        switch (random.nextInt(5)) {
            case 0 -> s.put("minimum", lo);
            case 1 -> s.put("maximum", hi);
            case 2 -> s.put("minimum", lo).put("maximum", hi);
            case 3 -> s.put("exclusiveMinimum", lo).put("exclusiveMaximum", hi + 1);
            default -> {}
        }
    }
}
