package dev.kvslim.core.chat;

import com.hubspot.jinjava.interpret.InterpretException;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.JinjavaInterpreter.InterpreterScopeClosable;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.tree.parse.TagToken;
import com.hubspot.jinjava.util.ForLoop;
import com.hubspot.jinjava.util.ObjectIterator;
import com.hubspot.jinjava.util.ObjectTruthValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Jinjava's {@code for} tag plus Jinja2's loop filter, {@code {% for x in items if condition %}} (Mistral's tool
 * template uses it): the items the condition rejects are dropped before the loop starts, so {@code loop.index},
 * {@code loop.last} and {@code loop.length} count only the rest, as in Jinja2. Jinjava alone would read
 * {@code items if condition} as a conditional expression and loop over nothing when the condition is false.
 */
final class FilteringForTag extends ForTag {

    private static final Pattern IN = Pattern.compile("\\sin\\s");

    @Override
    public String interpretUnchecked(TagNode tagNode, JinjavaInterpreter interpreter) {
        TagToken token = (TagToken) tagNode.getMaster();
        String helpers = token.getHelpers();
        int filter = filterStart(helpers);
        if (filter < 0) {
            return super.interpretUnchecked(tagNode, interpreter);
        }
        var varsAndItems = getLoopVarsAndExpression(new TagToken(
                token.getSymbols().getExpressionStartWithTag() + " for " + helpers.substring(0, filter) + " "
                        + token.getSymbols().getExpressionEndWithTag(),
                token.getLineNumber(),
                token.getStartPosition(),
                token.getSymbols()));
        List<String> vars = varsAndItems.getLeft();
        Object items = interpreter.resolveELExpression(varsAndItems.getRight(), tagNode.getLineNumber());
        String condition = helpers.substring(filter + 2);
        List<Object> kept = new ArrayList<>();
        try (InterpreterScopeClosable _ = interpreter.enterScope()) {
            ForLoop all = ObjectIterator.getLoop(items);
            while (all.hasNext()) {
                Object item = all.next();
                bind(interpreter, vars, interpreter.wrap(item), tagNode);
                if (ObjectTruthValue.evaluate(interpreter.resolveELExpression(condition, tagNode.getLineNumber()))) {
                    kept.add(item);
                }
            }
        }
        return renderForCollection(tagNode, interpreter, vars, kept);
    }

    /** Sets the loop variables to {@code item} for the condition, unpacking a pair or a list into several. */
    private static void bind(JinjavaInterpreter interpreter, List<String> vars, Object item, TagNode tagNode) {
        if (vars.size() == 1) {
            interpreter.getContext().put(vars.getFirst(), item);
            return;
        }
        List<?> values = switch (item) {
            case Map.Entry<?, ?> entry -> List.of(entry.getKey(), entry.getValue());
            case List<?> list -> list;
            default -> List.of();
        };
        if (values.size() != vars.size()) {
            throw new InterpretException("cannot unpack " + item + " into " + vars, tagNode.getLineNumber());
        }
        for (int i = 0; i < vars.size(); i++) {
            interpreter.getContext().put(vars.get(i), values.get(i));
        }
    }

    /**
     * Where the loop filter's {@code if} starts in a for tag's helpers, or -1: the first {@code if} after
     * {@code in} that stands as a word outside string literals and brackets (Jinja2 allows no conditional
     * expression there, so that {@code if} is always the filter's).
     */
    private static int filterStart(String helpers) {
        Matcher in = IN.matcher(helpers);
        if (!in.find()) {
            return -1;
        }
        int depth = 0;
        char quote = 0;
        for (int i = in.end(); i < helpers.length(); i++) {
            char c = helpers.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (depth == 0
                    && helpers.startsWith("if", i)
                    && !isNameChar(helpers, i - 1)
                    && !isNameChar(helpers, i + 2)) {
                return i;
            }
        }
        return -1;
    }

    private static boolean isNameChar(String s, int i) {
        return i >= 0 && i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_');
    }
}
