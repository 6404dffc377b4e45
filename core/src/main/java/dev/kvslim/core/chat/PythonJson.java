package dev.kvslim.core.chat;

import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Iterator;
import java.util.Map;

/**
 * Python's {@code json.dumps(value, ensure_ascii=False, indent=indent)}, which is what transformers' {@code tojson}
 * filter returns (Jinja2's own and Jinjava's differ: HTML escaping, no spaces after separators): {@code ", "} and
 * {@code ": "} between items without an indent, {@code ","} and newlines with one; non-ASCII text as is; floats as
 * Python's {@code repr} writes them ({@code 1e-05}, {@code 1e+16}, {@code 100.0}).
 */
final class PythonJson {

    private PythonJson() {}

    /** The JSON text of {@code value}; {@code indent} is the number of spaces per level, or null for one line. */
    static String dumps(Object value, Integer indent) {
        StringBuilder out = new StringBuilder();
        write(out, value, indent, 0);
        return out.toString();
    }

    private static void write(StringBuilder out, Object value, Integer indent, int depth) {
        switch (value) {
            case null -> out.append("null");
            case Boolean b -> out.append(b ? "true" : "false");
            case Float f -> out.append(floatRepr(f.doubleValue()));
            case Double d -> out.append(floatRepr(d));
            case BigDecimal d -> out.append(floatRepr(d.doubleValue()));
            case Byte _, Short _, Integer _, Long _, BigInteger _ -> out.append(value);
            case CharSequence s -> string(out, s.toString());
            case Map<?, ?> map -> object(out, map, indent, depth);
            case Map.Entry<?, ?> entry ->
                array(out, java.util.List.of(entry.getKey(), entry.getValue()).iterator(), indent, depth);
            case Iterable<?> items -> array(out, items.iterator(), indent, depth);
            default -> {
                if (!value.getClass().isArray()) {
                    throw new IllegalArgumentException(
                            "Object of type " + value.getClass().getSimpleName() + " is not JSON serializable");
                }
                Object[] items = new Object[Array.getLength(value)];
                for (int i = 0; i < items.length; i++) {
                    items[i] = Array.get(value, i);
                }
                array(out, java.util.Arrays.asList(items).iterator(), indent, depth);
            }
        }
    }

    private static void object(StringBuilder out, Map<?, ?> map, Integer indent, int depth) {
        if (map.isEmpty()) {
            out.append("{}");
            return;
        }
        out.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : map.entrySet()) {
            separate(out, first, indent, depth + 1);
            first = false;
            string(out, key(e.getKey()));
            out.append(": ");
            write(out, e.getValue(), indent, depth + 1);
        }
        newline(out, indent, depth);
        out.append('}');
    }

    private static void array(StringBuilder out, Iterator<?> items, Integer indent, int depth) {
        if (!items.hasNext()) {
            out.append("[]");
            return;
        }
        out.append('[');
        boolean first = true;
        while (items.hasNext()) {
            separate(out, first, indent, depth + 1);
            first = false;
            write(out, items.next(), indent, depth + 1);
        }
        newline(out, indent, depth);
        out.append(']');
    }

    private static void separate(StringBuilder out, boolean first, Integer indent, int depth) {
        if (!first) {
            out.append(indent == null ? ", " : ",");
        }
        newline(out, indent, depth);
    }

    private static void newline(StringBuilder out, Integer indent, int depth) {
        if (indent != null) {
            out.append('\n').repeat(' ', indent * depth);
        }
    }

    /** A dict key as json.dumps converts it: strings as they are, numbers, booleans and None as their JSON text. */
    private static String key(Object key) {
        return switch (key) {
            case null -> "null";
            case String s -> s;
            case Boolean b -> b ? "true" : "false";
            case Float f -> floatRepr(f.doubleValue());
            case Double d -> floatRepr(d);
            case Number n -> n.toString();
            default ->
                throw new IllegalArgumentException("keys must be str, int, float, bool or None, not "
                        + key.getClass().getSimpleName());
        };
    }

    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /**
     * Python's {@code repr(float)}: the shortest digits that read back to the same double (those of
     * {@link Double#toString}, except where it prefers two digits to an equally valid one, as for 4.9e-324),
     * positional when the decimal point falls within 16 digits and the value is
     * at least 1e-4, else {@code d.ddde±XX}; json.dumps writes NaN and the infinities as JavaScript does.
     */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        BigDecimal oneDigit = exact.round(new MathContext(1, RoundingMode.HALF_EVEN));
        if (exact.precision() == 2 && Double.parseDouble(oneDigit.toString()) == Math.abs(d)) {
            exact = oneDigit.stripTrailingZeros(); // Double.toString may pick a closer 2-digit form; repr is shortest
        }
        String digits = exact.unscaledValue().toString();
        int point = digits.length() - exact.scale(); // the value is 0.<digits> x 10^point
        StringBuilder out = new StringBuilder(d < 0 ? "-" : "");
        if (point > -4 && point <= 16) {
            if (point <= 0) {
                out.append("0.").repeat('0', -point).append(digits);
            } else if (point >= digits.length()) {
                out.append(digits).repeat('0', point - digits.length()).append(".0");
            } else {
                out.append(digits, 0, point).append('.').append(digits, point, digits.length());
            }
            return out.toString();
        }
        out.append(digits.charAt(0));
        if (digits.length() > 1) {
            out.append('.').append(digits, 1, digits.length());
        }
        int exponent = point - 1;
        return out.append('e')
                .append(exponent < 0 ? '-' : '+')
                .append(String.format("%02d", Math.abs(exponent)))
                .toString();
    }
}
