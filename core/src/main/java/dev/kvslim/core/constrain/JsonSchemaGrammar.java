package dev.kvslim.core.constrain;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import tools.jackson.core.JsonPointer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Compiles a JSON Schema into a {@link Grammar} whose sentences are JSON texts that validate against it. Covered:
 * {@code type} (one or a list), {@code properties}, {@code required}, {@code additionalProperties}, {@code items},
 * {@code minItems}, {@code maxItems}, {@code enum}, {@code const}, {@code pattern}, {@code minLength},
 * {@code maxLength}, {@code minimum}, {@code maximum}, {@code exclusiveMinimum}, {@code exclusiveMaximum},
 * {@code anyOf}, {@code oneOf} (as {@code anyOf}: the output is one of the options, and a value that two options both
 * accept is the caller's to avoid), {@code allOf} of one schema, {@code $ref} within the document (to {@code $defs},
 * {@code definitions} or any pointer, recursion included); annotations ({@code title}, {@code description},
 * {@code default}, {@code examples}, ...) are ignored. Any other keyword is a {@link GrammarException} naming it and
 * where it is: it is never dropped silently.
 *
 * <p>What the grammar writes, so that every text it allows is valid (it allows a subset of the valid texts):
 * properties in the schema's order, required ones first; no properties beyond those listed unless
 * {@code additionalProperties} allows them (absent counts as false, as llama.cpp's converter does), extra keys
 * then being plain strings other than the listed names; whitespace only after punctuation, at most a space or a newline
 * and 20 spaces or tabs; numbers of at most 16 digits before and after the point and exponents of at most 2 (so every number is a finite double); bounded numbers as an integer part within the bounds and, where
 * the whole unit interval after (or before, when negative) it is within them, a fraction.
 */
public final class JsonSchemaGrammar {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** Largest integer part written: 16 digits. */
    static final long LIMIT = 9_999_999_999_999_999L;

    private static final Set<String> ANNOTATIONS = Set.of(
            "title",
            "description",
            "default",
            "examples",
            "$schema",
            "$id",
            "$comment",
            "deprecated",
            "readOnly",
            "writeOnly",
            "$defs",
            "definitions");
    private static final Set<String> KEYWORDS = Set.of(
            "type",
            "properties",
            "required",
            "additionalProperties",
            "items",
            "minItems",
            "maxItems",
            "enum",
            "const",
            "pattern",
            "minLength",
            "maxLength",
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "anyOf",
            "oneOf",
            "allOf",
            "$ref");
    /** Characters a JSON string holds as they are: everything but the quote, the backslash and control characters. */
    static final CodePoints PLAIN = CodePoints.range(0x20, CodePoints.MAX).minus(CodePoints.of("\"\\"));

    private final JsonNode document;
    private final Map<String, Expr> rules = new LinkedHashMap<>();
    private int objects;
    private int depth;

    /** Most schemas nested in one another (the compiler recurses per level). */
    static final int MAX_NESTING = 64;

    private JsonSchemaGrammar(JsonNode document) {
        this.document = document;
        rules.put(
                "ws",
                Expr.alt(
                        Expr.EMPTY,
                        Expr.literal(" "),
                        Expr.seq(Expr.literal("\n"), new Expr.Repeat(Expr.anyOf(" \t"), 0, 20))));
        rules.put(
                "char",
                Expr.alt(
                        Expr.codePoints(PLAIN),
                        Expr.seq(
                                Expr.literal("\\"),
                                Expr.alt(
                                        Expr.anyOf("\"\\/bfnrt"),
                                        Expr.seq(Expr.literal("u"), new Expr.Repeat(hexDigit(), 4, 4))))));
        rules.put("string", Expr.seq(Expr.literal("\""), Expr.star(new Expr.Ref("char")), Expr.literal("\"")));
        Expr digit = Expr.byteRange('0', '9');
        rules.put(
                "number",
                Expr.seq(
                        integer(),
                        Expr.optional(Expr.seq(Expr.literal("."), new Expr.Repeat(digit, 1, 16))),
                        Expr.optional(Expr.seq(
                                Expr.anyOf("eE"), Expr.optional(Expr.anyOf("+-")), new Expr.Repeat(digit, 1, 2)))));
        rules.put("integer", integer());
        rules.put("members", members(new Expr.Ref("string"), new Expr.Ref("value")));
        rules.put(
                "object",
                Expr.seq(
                        Expr.literal("{"),
                        ws(),
                        Expr.optional(Expr.seq(new Expr.Ref("members"), ws())),
                        Expr.literal("}")));
        rules.put(
                "array",
                Expr.seq(
                        Expr.literal("["),
                        ws(),
                        Expr.optional(Expr.seq(list(new Expr.Ref("value"), 1, -1), ws())),
                        Expr.literal("]")));
        rules.put(
                "value",
                Expr.alt(
                        new Expr.Ref("object"),
                        new Expr.Ref("array"),
                        new Expr.Ref("string"),
                        new Expr.Ref("number"),
                        Expr.literal("true"),
                        Expr.literal("false"),
                        Expr.literal("null")));
    }

    /** Any JSON object (OpenAI's {@code response_format} {@code json_object}). */
    public static Grammar anyObject() {
        JsonSchemaGrammar c = new JsonSchemaGrammar(null);
        c.rules.put("root", new Expr.Ref("object"));
        return Grammar.of(c.rules, "root");
    }

    /** The JSON texts that validate against {@code schema}. */
    public static Grammar of(JsonNode schema) {
        JsonSchemaGrammar c = new JsonSchemaGrammar(schema);
        c.rules.put("root", c.schema(schema, "#"));
        return Grammar.of(c.rules, "root");
    }

    /** The JSON texts that validate against the schema written in {@code schemaJson}. */
    public static Grammar of(String schemaJson) {
        JsonNode schema;
        try {
            schema = JSON.readTree(schemaJson);
        } catch (RuntimeException e) {
            throw new GrammarException("the JSON schema is not valid JSON");
        }
        return of(schema);
    }

    private static Expr ws() {
        return new Expr.Ref("ws");
    }

    private static Expr hexDigit() {
        return Expr.codePoints(CodePoints.of("0123456789abcdefABCDEF"));
    }

    private static Expr integer() {
        return Expr.seq(
                Expr.optional(Expr.literal("-")),
                Expr.alt(
                        Expr.literal("0"),
                        Expr.seq(Expr.byteRange('1', '9'), new Expr.Repeat(Expr.byteRange('0', '9'), 0, 15))));
    }

    /** {@code first (ws "," ws key ws ":" ws value)*} where each member is {@code key ws ":" ws value}. */
    private static Expr members(Expr key, Expr value) {
        return list(member(key, value), 1, -1);
    }

    private static Expr member(Expr key, Expr value) {
        return Expr.seq(key, ws(), Expr.literal(":"), ws(), value);
    }

    /** {@code min} to {@code max} (-1: any number, at least 1) items separated by commas. */
    private static Expr list(Expr item, int min, int max) {
        Expr more = Expr.seq(ws(), Expr.literal(","), ws(), item);
        return Expr.seq(item, new Expr.Repeat(more, Math.max(0, min - 1), max < 0 ? -1 : max - 1));
    }

    private Expr schema(JsonNode s, String at) {
        if (++depth > MAX_NESTING) {
            throw new GrammarException("the schema nests more than " + MAX_NESTING + " levels deep (at "
                    + at.substring(0, Math.min(at.length(), 80))
                    + "...)");
        }
        try {
            return schemaAt(s, at);
        } finally {
            depth--;
        }
    }

    private Expr schemaAt(JsonNode s, String at) {
        if (s.isBoolean()) {
            if (!s.asBoolean()) {
                throw new GrammarException("the schema at " + at + " is false: no value satisfies it");
            }
            return new Expr.Ref("value");
        }
        if (!s.isObject()) {
            throw new GrammarException("the schema at " + at + " must be an object or a boolean");
        }
        Set<String> keys = new LinkedHashSet<>();
        for (String key : s.propertyNames()) {
            if (!ANNOTATIONS.contains(key)) {
                if (!KEYWORDS.contains(key)) {
                    throw new GrammarException("unsupported JSON Schema keyword '" + key + "' at " + at);
                }
                keys.add(key);
            }
        }
        for (String combinator : new String[] {"$ref", "anyOf", "oneOf", "allOf", "const", "enum"}) {
            // an enum or const beside a type (as LangChain4j and zod write them) keeps the values of that type
            boolean typed = (combinator.equals("enum") || combinator.equals("const")) && keys.contains("type");
            if (keys.contains(combinator) && keys.size() > (typed ? 2 : 1)) {
                keys.remove(combinator);
                throw new GrammarException("'" + combinator + "' beside other keywords (" + String.join(", ", keys)
                        + ") at " + at + " is not supported; put them inside it");
            }
        }
        if (keys.contains("$ref")) {
            return ref(text(s.get("$ref"), at + "/$ref"), at);
        }
        if (keys.contains("const") || keys.contains("enum")) {
            String keyword = keys.contains("const") ? "const" : "enum";
            JsonNode values = keyword.equals("const") ? JSON.createArrayNode().add(s.get("const")) : s.get("enum");
            if (!values.isArray() || values.isEmpty()) {
                throw new GrammarException("'enum' at " + at + " must be a non-empty array");
            }
            List<String> types = keys.contains("type") ? types(s, keys, at) : null;
            List<Expr> options = new ArrayList<>();
            for (JsonNode v : values) {
                if (types == null || types.stream().anyMatch(t -> isOfType(v, t))) {
                    options.add(Expr.literal(JSON.writeValueAsString(v)));
                }
            }
            if (options.isEmpty()) {
                throw new GrammarException("no value of '" + keyword + "' at " + at + " is of its 'type'");
            }
            return Expr.alt(options);
        }
        for (String union : new String[] {"anyOf", "oneOf", "allOf"}) {
            if (keys.contains(union)) {
                JsonNode list = s.get(union);
                if (!list.isArray() || list.isEmpty()) {
                    throw new GrammarException("'" + union + "' at " + at + " must be a non-empty array");
                }
                if (union.equals("allOf") && list.size() > 1) {
                    throw new GrammarException("'allOf' of more than one schema at " + at + " is not supported");
                }
                List<Expr> options = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    options.add(schema(list.get(i), at + "/" + union + "/" + i));
                }
                return Expr.alt(options);
            }
        }
        List<String> types = types(s, keys, at);
        List<Expr> options = new ArrayList<>();
        for (String type : types) {
            options.add(
                    switch (type) {
                        case "null" -> Expr.literal("null");
                        case "boolean" -> Expr.alt(Expr.literal("true"), Expr.literal("false"));
                        case "string" -> string(s, at);
                        case "integer" -> integerSchema(s, at);
                        case "number" -> numberSchema(s, at);
                        case "object" -> object(s, at);
                        case "array" -> array(s, at);
                        default -> throw new GrammarException("unknown type '" + type + "' at " + at);
                    });
        }
        return Expr.alt(options);
    }

    private static List<String> types(JsonNode s, Set<String> keys, String at) {
        JsonNode type = s.get("type");
        List<String> types = new ArrayList<>();
        if (type == null) {
            if (keys.isEmpty()) {
                types.addAll(List.of("object", "array", "string", "number", "boolean", "null"));
            }
            if (keys.contains("properties") || keys.contains("required") || keys.contains("additionalProperties")) {
                types.add("object");
            }
            if (keys.contains("items") || keys.contains("minItems") || keys.contains("maxItems")) {
                types.add("array");
            }
            if (keys.contains("pattern") || keys.contains("minLength") || keys.contains("maxLength")) {
                types.add("string");
            }
            if (keys.contains("minimum")
                    || keys.contains("maximum")
                    || keys.contains("exclusiveMinimum")
                    || keys.contains("exclusiveMaximum")) {
                types.add("number");
            }
        } else if (type.isString()) {
            types.add(type.asString());
        } else if (type.isArray() && !type.isEmpty()) {
            for (JsonNode t : type) {
                types.add(text(t, at + "/type"));
            }
        } else {
            throw new GrammarException("'type' at " + at + " must be a type name or a non-empty list of them");
        }
        if (types.contains("number")) {
            types.remove("integer"); // every integer is a number
        }
        return types;
    }

    private static boolean isOfType(JsonNode v, String type) {
        return switch (type) {
            case "null" -> v.isNull();
            case "boolean" -> v.isBoolean();
            case "string" -> v.isString();
            case "number" -> v.isNumber();
            case "integer" ->
                v.isIntegralNumber()
                        || (v.isNumber()
                                && v.decimalValue().stripTrailingZeros().scale() <= 0);
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            default -> throw new GrammarException("unknown type '" + type + "'");
        };
    }

    private Expr ref(String pointer, String at) {
        String name = "ref " + pointer;
        if (!rules.containsKey(name)) {
            if (!pointer.startsWith("#")) {
                throw new GrammarException("'$ref' to '" + pointer + "' at " + at
                        + " is not supported: only references within the schema (#...)");
            }
            JsonNode target;
            try {
                target = pointer.equals("#") ? document : document.at(JsonPointer.compile(pointer.substring(1)));
            } catch (IllegalArgumentException e) {
                throw new GrammarException("'$ref' at " + at + " is not a JSON pointer: " + pointer);
            }
            if (target == null || target.isMissingNode()) {
                throw new GrammarException("'$ref' at " + at + " points to nothing: " + pointer);
            }
            rules.put(name, Expr.NOTHING); // a placeholder, so recursion refers to the rule being made
            rules.put(name, schema(target, pointer));
        }
        return new Expr.Ref(name);
    }

    private Expr string(JsonNode s, String at) {
        Integer min = count(s, "minLength", at);
        Integer max = count(s, "maxLength", at);
        if (s.has("pattern")) {
            if (min != null || max != null) {
                throw new GrammarException("'pattern' with 'minLength' or 'maxLength' at " + at
                        + " is not supported; put the lengths in the pattern");
            }
            String pattern = text(s.get("pattern"), at + "/pattern");
            Expr body = RegexGrammar.expr(pattern, PLAIN, "'pattern' at " + at);
            return Expr.seq(Expr.literal("\""), body, Expr.literal("\""));
        }
        int lo = min == null ? 0 : min;
        int hi = max == null ? -1 : max;
        if (hi >= 0 && hi < lo) {
            throw new GrammarException("'maxLength' is below 'minLength' at " + at);
        }
        return Expr.seq(Expr.literal("\""), new Expr.Repeat(new Expr.Ref("char"), lo, hi), Expr.literal("\""));
    }

    private static Integer count(JsonNode s, String key, String at) {
        JsonNode v = s.get(key);
        if (v == null) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0 || v.asInt() > 100_000) {
            throw new GrammarException("'" + key + "' at " + at + " must be an integer from 0 to 100000");
        }
        return v.asInt();
    }

    /** Bounds from the schema: {lo, hi, loExclusive, hiExclusive}, unbounded sides null. */
    private record Bounds(BigDecimal lo, boolean loExclusive, BigDecimal hi, boolean hiExclusive) {}

    private static Bounds bounds(JsonNode s, String at) {
        BigDecimal lo = decimal(s, "minimum", at);
        BigDecimal xlo = decimal(s, "exclusiveMinimum", at);
        BigDecimal hi = decimal(s, "maximum", at);
        BigDecimal xhi = decimal(s, "exclusiveMaximum", at);
        boolean loX = xlo != null && (lo == null || xlo.compareTo(lo) >= 0);
        boolean hiX = xhi != null && (hi == null || xhi.compareTo(hi) <= 0);
        return new Bounds(loX ? xlo : lo, loX, hiX ? xhi : hi, hiX);
    }

    private static BigDecimal decimal(JsonNode s, String key, String at) {
        JsonNode v = s.get(key);
        if (v == null) {
            return null;
        }
        if (!v.isNumber()) {
            throw new GrammarException("'" + key + "' at " + at + " must be a number");
        }
        return v.decimalValue();
    }

    /** The integers within the bounds, as {lo, hi} clamped to 16 digits. */
    private static long[] integerBounds(Bounds b) {
        long lo = -LIMIT;
        long hi = LIMIT;
        if (b.lo() != null) {
            BigDecimal c = b.lo().setScale(0, RoundingMode.CEILING);
            if (b.loExclusive() && c.compareTo(b.lo()) == 0) {
                c = c.add(BigDecimal.ONE);
            }
            lo = c.max(BigDecimal.valueOf(-LIMIT))
                    .min(BigDecimal.valueOf(LIMIT + 1))
                    .longValue();
        }
        if (b.hi() != null) {
            BigDecimal f = b.hi().setScale(0, RoundingMode.FLOOR);
            if (b.hiExclusive() && f.compareTo(b.hi()) == 0) {
                f = f.subtract(BigDecimal.ONE);
            }
            hi = f.min(BigDecimal.valueOf(LIMIT))
                    .max(BigDecimal.valueOf(-LIMIT - 1))
                    .longValue();
        }
        return new long[] {lo, hi};
    }

    private static Expr integerSchema(JsonNode s, String at) {
        long[] r = integerBounds(bounds(s, at));
        if (r[0] > r[1]) {
            throw new GrammarException("no integer of at most 16 digits is within the bounds at " + at);
        }
        return Digits.integers(r[0], r[1]);
    }

    private static Expr numberSchema(JsonNode s, String at) {
        Bounds b = bounds(s, at);
        if (b.lo() == null && b.hi() == null) {
            return new Expr.Ref("number");
        }
        long[] r = integerBounds(b);
        Expr fraction = Expr.seq(Expr.literal("."), new Expr.Repeat(Expr.byteRange('0', '9'), 1, 16));
        List<Expr> options = new ArrayList<>();
        if (r[0] <= r[1]) {
            options.add(Digits.integers(r[0], r[1]));
        }
        // n.f lies in [n, n + 1): n must be allowed and n + 1 at most the upper bound
        long posLo = Math.max(0, r[0]);
        long posHi = b.hi() == null ? r[1] : Math.min(r[1], floor(b.hi().subtract(BigDecimal.ONE)));
        if (posLo <= posHi) {
            options.add(Expr.seq(Digits.naturals(posLo, posHi), fraction));
        }
        // -n.f lies in (-(n + 1), -n]: -n must be allowed and -(n + 1) at least the lower bound
        long negLo = Math.max(0, -r[1]);
        long negHi =
                b.lo() == null ? -r[0] : Math.min(-r[0], floor(b.lo().negate().subtract(BigDecimal.ONE)));
        if (negLo <= negHi) {
            options.add(Expr.seq(Expr.literal("-"), Digits.naturals(negLo, negHi), fraction));
        }
        if (options.isEmpty()) {
            throw new GrammarException("no number is within the bounds at " + at);
        }
        return Expr.alt(options);
    }

    private static long floor(BigDecimal x) {
        return x.setScale(0, RoundingMode.FLOOR)
                .max(BigDecimal.valueOf(-LIMIT - 1))
                .min(BigDecimal.valueOf(LIMIT))
                .longValue();
    }

    private Expr object(JsonNode s, String at) {
        int id = objects++;
        JsonNode props = s.get("properties");
        Map<String, JsonNode> properties = new LinkedHashMap<>();
        if (props != null) {
            if (!props.isObject()) {
                throw new GrammarException("'properties' at " + at + " must be an object");
            }
            for (String name : props.propertyNames()) {
                properties.put(name, props.get(name));
            }
        }
        Set<String> required = new LinkedHashSet<>();
        JsonNode req = s.get("required");
        if (req != null) {
            if (!req.isArray()) {
                throw new GrammarException("'required' at " + at + " must be an array of names");
            }
            for (JsonNode r : req) {
                String name = text(r, at + "/required");
                required.add(name);
                properties.putIfAbsent(name, null);
            }
        }
        // required first, in the schema's order, then the optional ones
        List<Expr> kvs = new ArrayList<>();
        List<Boolean> isRequired = new ArrayList<>();
        for (boolean pass : new boolean[] {true, false}) {
            for (Map.Entry<String, JsonNode> p : properties.entrySet()) {
                if (required.contains(p.getKey()) == pass) {
                    Expr value = p.getValue() == null
                            ? new Expr.Ref("value")
                            : schema(p.getValue(), at + "/properties/" + p.getKey());
                    kvs.add(member(Expr.literal(JSON.writeValueAsString(p.getKey())), value));
                    isRequired.add(pass);
                }
            }
        }
        JsonNode extra = s.get("additionalProperties");
        Expr extraMember = null;
        if (extra != null && !(extra.isBoolean() && !extra.asBoolean())) {
            Expr value = schema(extra, at + "/additionalProperties");
            extraMember = member(otherKey(properties.keySet()), value);
        }
        String prefix = "object" + id + " ";
        int n = kvs.size();
        for (int i = n; i >= 0; i--) {
            for (boolean first : new boolean[] {true, false}) {
                Expr sep = first ? Expr.EMPTY : Expr.seq(ws(), Expr.literal(","), ws());
                Expr body;
                if (i == n) {
                    if (extraMember == null) {
                        body = Expr.EMPTY;
                    } else {
                        Expr more = Expr.star(Expr.seq(ws(), Expr.literal(","), ws(), extraMember));
                        body = first ? Expr.optional(Expr.seq(extraMember, more)) : more;
                    }
                } else {
                    Expr with = Expr.seq(sep, kvs.get(i), new Expr.Ref(prefix + (i + 1) + " false"));
                    body = isRequired.get(i) ? with : Expr.alt(with, new Expr.Ref(prefix + (i + 1) + " " + first));
                }
                rules.put(prefix + i + " " + first, body);
            }
        }
        return Expr.seq(Expr.literal("{"), ws(), new Expr.Ref(prefix + "0 true"), ws(), Expr.literal("}"));
    }

    /** A JSON string of plain characters (no escapes) that is none of {@code names}. */
    private static Expr otherKey(Set<String> names) {
        Node trie = new Node();
        for (String name : names) {
            Node at = trie;
            for (int i = 0; i < name.length(); ) {
                int c = name.codePointAt(i);
                at = at.children.computeIfAbsent(c, k -> new Node());
                i += Character.charCount(c);
            }
            at.isName = true;
        }
        return Expr.seq(Expr.literal("\""), notIn(trie), Expr.literal("\""));
    }

    private static final class Node {
        final TreeMap<Integer, Node> children = new TreeMap<>();
        boolean isName;
    }

    private static Expr notIn(Node node) {
        List<Expr> options = new ArrayList<>();
        if (!node.isName) {
            options.add(Expr.EMPTY);
        }
        CodePoints others = PLAIN;
        for (Map.Entry<Integer, Node> child : node.children.entrySet()) {
            others = others.minus(CodePoints.of(child.getKey()));
            if (PLAIN.contains(child.getKey())) {
                options.add(Expr.seq(Expr.codePoints(CodePoints.of(child.getKey())), notIn(child.getValue())));
            }
        }
        Expr plain = Expr.codePoints(PLAIN);
        options.add(Expr.seq(Expr.codePoints(others), Expr.star(plain)));
        return Expr.alt(options);
    }

    private Expr array(JsonNode s, String at) {
        Integer min = count(s, "minItems", at);
        Integer max = count(s, "maxItems", at);
        int lo = min == null ? 0 : min;
        int hi = max == null ? -1 : max;
        if (hi >= 0 && hi < lo) {
            throw new GrammarException("'maxItems' is below 'minItems' at " + at);
        }
        JsonNode items = s.get("items");
        if (items != null && items.isArray()) {
            throw new GrammarException("'items' as a list (tuples) at " + at + " is not supported");
        }
        Expr item = items == null ? new Expr.Ref("value") : schema(items, at + "/items");
        if (hi == 0) {
            return Expr.seq(Expr.literal("["), ws(), Expr.literal("]"));
        }
        Expr list = Expr.seq(list(item, Math.max(1, lo), hi), ws());
        return Expr.seq(Expr.literal("["), ws(), lo == 0 ? Expr.optional(list) : list, Expr.literal("]"));
    }

    private static String text(JsonNode v, String at) {
        if (v == null || !v.isString()) {
            throw new GrammarException(at + " must be a string");
        }
        return v.asString();
    }
}
