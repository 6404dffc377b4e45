package dev.kvslim.core.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Filters whose Jinjava versions differ from what transformers' Jinja2 environment gives templates. */
final class PythonFilters {

    private PythonFilters() {}

    static List<Filter> all() {
        return List.of(new ToJson(), new Trim());
    }

    /**
     * {@code tojson}, as transformers overrides it: {@code json.dumps(value, ensure_ascii=False, indent=indent)} via
     * {@link PythonJson}, with the keyword argument {@code indent} (Llama 3.1 uses {@code tojson(indent=4)}).
     */
    private static final class ToJson implements Filter {

        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            if (args.length > 0 || !kwargs.keySet().stream().allMatch("indent"::equals)) {
                throw new IllegalArgumentException("tojson takes only the keyword argument indent, got " + args.length
                        + " positional and " + kwargs.keySet());
            }
            Object indent = kwargs.get("indent");
            if (indent != null && !(indent instanceof Long || indent instanceof Integer)) {
                throw new IllegalArgumentException("tojson: indent must be an integer, not " + indent);
            }
            return PythonJson.dumps(var, indent == null ? null : ((Number) indent).intValue());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }
    }

    /** {@code trim}: Python's {@code str(value).strip(chars)}, all Unicode whitespace (Jinjava's strips ASCII). */
    private static final class Trim implements Filter {

        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return PythonStrings.strip(Objects.toString(var), args.length > 0 ? args[0] : null);
        }
    }
}
