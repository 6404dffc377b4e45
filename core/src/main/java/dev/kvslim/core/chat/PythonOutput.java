package dev.kvslim.core.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.expression.ExpressionStrategy;
import com.hubspot.jinjava.tree.output.RenderedOutputNode;
import com.hubspot.jinjava.tree.parse.ExpressionToken;

/**
 * Prints the value of a {@code {{ ... }}} expression: booleans as Python's {@code True} and {@code False} (Jinjava
 * writes {@code true}), everything else as Jinjava's Python-style printer writes it; the text is never escaped or
 * rendered again.
 */
final class PythonOutput implements ExpressionStrategy {

    @Override
    public RenderedOutputNode interpretOutput(ExpressionToken master, JinjavaInterpreter interpreter) {
        Object value = interpreter.resolveELExpression(master.getExpr(), master.getLineNumber());
        return new RenderedOutputNode(
                value instanceof Boolean b ? (b ? "True" : "False") : interpreter.getAsString(value));
    }
}
