package dev.kvslim.core.chat;

import com.hubspot.jinjava.el.ExtendedSyntaxBuilder;
import com.hubspot.jinjava.el.ext.AstNamedParameter;
import com.hubspot.jinjava.el.ext.ExtendedParser;
import java.util.ArrayList;
import java.util.List;
import jinjava.de.odysseus.el.tree.impl.Builder;
import jinjava.de.odysseus.el.tree.impl.Parser;
import jinjava.de.odysseus.el.tree.impl.Scanner.ScanException;
import jinjava.de.odysseus.el.tree.impl.Scanner.Symbol;
import jinjava.de.odysseus.el.tree.impl.ast.AstIdentifier;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstParameters;

/**
 * Jinjava's expression parser with Python's rule for keyword arguments: in {@code f(name=expression)} the value is a
 * whole expression. Jinjava parses {@code =} as an operator as tight as {@code +}, so Qwen3's
 * {@code namespace(last_query_index=messages|length - 1)} would pass {@code (last_query_index=messages|length) - 1}
 * and fail.
 */
final class KeywordArgumentParser extends ExtendedParser {

    /** Builds expression trees with this parser and the features Jinjava's own factory enables. */
    static final class SyntaxBuilder extends ExtendedSyntaxBuilder {

        SyntaxBuilder() {
            super(Feature.METHOD_INVOCATIONS, Feature.VARARGS);
        }

        @Override
        protected Parser createParser(String expression) {
            return new KeywordArgumentParser(this, expression);
        }
    }

    private KeywordArgumentParser(Builder builder, String input) {
        super(builder, input);
    }

    @Override
    protected AstParameters params(Symbol left, Symbol right) throws ScanException, ParseException {
        consumeToken(left);
        List<AstNode> arguments = new ArrayList<>();
        AstNode first = argument(false);
        if (first != null) {
            arguments.add(first);
            while (getToken().getSymbol() == Symbol.COMMA) {
                consumeToken();
                arguments.add(argument(true));
            }
        }
        consumeToken(right);
        return createAstParameters(arguments);
    }

    private AstNode argument(boolean required) throws ScanException, ParseException {
        if (getToken().getSymbol() == Symbol.IDENTIFIER
                && lookahead(0).getSymbol() == Symbol.EXTENSION
                && "=".equals(lookahead(0).getImage())) {
            AstIdentifier name = identifier(consumeToken().getImage());
            consumeToken();
            return new AstNamedParameter(name, expr(true));
        }
        return expr(required);
    }
}
