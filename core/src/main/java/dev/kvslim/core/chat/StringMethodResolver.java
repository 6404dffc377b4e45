package dev.kvslim.core.chat;

import java.beans.FeatureDescriptor;
import java.util.Iterator;
import java.util.List;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELException;
import jinjava.javax.el.ELResolver;

/**
 * Answers the Python string methods chat templates call on strings, which Jinjava (seeing a {@link String}) would
 * otherwise look up as Java methods: {@code startswith} and {@code endswith} (a string or a tuple of strings),
 * {@code strip}, {@code lstrip}, {@code rstrip} (no argument or the characters to strip) and {@code split} (no
 * argument or a separator), all with {@link PythonStrings}' semantics. Every other call is left to the resolvers
 * after this one.
 */
final class StringMethodResolver extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || !(method instanceof String name)) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        Object result = switch (name) {
            case "startswith" -> affixes(name, args).stream().anyMatch(s::startsWith);
            case "endswith" -> affixes(name, args).stream().anyMatch(s::endsWith);
            case "strip" -> PythonStrings.strip(s, optionalString(name, args));
            case "lstrip" -> PythonStrings.lstrip(s, optionalString(name, args));
            case "rstrip" -> PythonStrings.rstrip(s, optionalString(name, args));
            case "split" -> split(s, optionalString(name, args));
            default -> null;
        };
        if (result != null) {
            context.setPropertyResolved(true);
        }
        return result;
    }

    private static List<String> split(String s, String separator) {
        try {
            return PythonStrings.split(s, separator);
        } catch (IllegalArgumentException e) {
            throw new ELException("split: " + e.getMessage());
        }
    }

    /** The one argument of startswith/endswith: a string, or a tuple (list) of strings. */
    private static List<String> affixes(String method, Object[] args) {
        if (args.length != 1) {
            throw new ELException(method + "() takes one argument in templates, got " + args.length);
        }
        if (args[0] instanceof String affix) {
            return List.of(affix);
        }
        if (args[0] instanceof List<?> list && list.stream().allMatch(String.class::isInstance)) {
            return list.stream().map(String.class::cast).toList();
        }
        throw new ELException(method + "() argument must be a string or a tuple of strings, not " + typeName(args[0]));
    }

    /** The optional string-or-none argument of strip/lstrip/rstrip/split. */
    private static String optionalString(String method, Object[] args) {
        if (args.length > 1) {
            throw new ELException(method + "() takes at most one argument in templates, got " + args.length);
        }
        if (args.length == 0 || args[0] == null) {
            return null;
        }
        if (args[0] instanceof String chars) {
            return chars;
        }
        throw new ELException(method + "() argument must be a string or none, not " + typeName(args[0]));
    }

    private static String typeName(Object value) {
        return value == null ? "none" : value.getClass().getSimpleName();
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return false;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
