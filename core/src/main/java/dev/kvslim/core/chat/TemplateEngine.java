package dev.kvslim.core.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.TruthyTypeConverter;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.JinjavaInterpreterFactory;
import jinjava.de.odysseus.el.ExpressionFactoryImpl;
import jinjava.de.odysseus.el.tree.TreeStore;
import jinjava.de.odysseus.el.tree.impl.Cache;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ExpressionFactory;

/**
 * The Jinjava engine set up to render Hugging Face chat templates as Python Jinja2 does, once
 * {@link Jinja2Source} has applied Jinja2's whitespace rules to the source:
 * <ul>
 * <li>Jinjava's own trimming is off and the output's last newline is kept;</li>
 * <li>{@link PythonOutput} prints values, never rendering them again as templates (Jinjava's nested interpretation,
 * also switched off, would run a {@code {{ ... }}} found in a message's text);</li>
 * <li>the Python behaviours Jinjava offers as legacy overrides are on: {@code for k in dict} walks the keys, dict
 * literal keys are evaluated, {@code none} items are kept in loops, a backslash escapes only inside string literals,
 * values print as Python would ({@code ['a', 'b']});</li>
 * <li>{@link KeywordArgumentParser} parses {@code f(name=expression)} as Python does;</li>
 * <li>{@link StringMethodResolver} answers Python's string methods;</li>
 * <li>{@link PythonFilters} replace {@code tojson} and {@code trim}, {@link FilteringForTag} the {@code for} tag, and
 * {@link TemplateFunctions} adds {@code raise_exception} and {@code strftime_now}, which are also defined as
 * variables, so that {@code strftime_now is defined} holds (Llama 3.2's test before calling it).</li>
 * </ul>
 * Jinjava's precedence stays its own: filters and tests bind tighter than {@code not}, as in Jinja2
 * ({@code not x is defined}); they also bind tighter than unary minus, which Jinja2 applies first.
 *
 * <p>Differences that remain, none met in the Llama 3, Qwen or Mistral templates: Jinjava has one null for undefined
 * and none (so {@code undefined is none} holds and {@code none} prints as nothing); inside printed lists and dicts,
 * booleans and none print as JSON does and nested dicts close with {@code "} }"}; strings cannot be indexed or
 * multiplied; there is no loop {@code recursive} and no {@code {% generation %}} tag.
 */
final class TemplateEngine extends Jinjava {

    /** One engine serves every template; Jinjava renders concurrently with per-call interpreters. */
    static final TemplateEngine INSTANCE = new TemplateEngine();

    private final ExpressionFactory expressions = new ExpressionFactoryImpl(
            new TreeStore(new KeywordArgumentParser.SyntaxBuilder(), new Cache(1000)), new TruthyTypeConverter());

    private TemplateEngine() {
        super(JinjavaConfig.newBuilder()
                .withKeepTrailingNewline(true)
                .withNestedInterpretationEnabled(false)
                .withInterperterFactory(new JinjavaInterpreterFactory() {
                    @Override
                    public JinjavaInterpreter newInstance(Jinjava engine, Context context, JinjavaConfig config) {
                        context.setExpressionStrategy(new PythonOutput());
                        return super.newInstance(engine, context, config);
                    }
                })
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withIterateOverMapKeys(true)
                        .withEvaluateMapKeys(true)
                        .withKeepNullableLoopValues(true)
                        .withHandleBackslashInQuotesOnly(true)
                        .withUsePyishObjectMapper(true)
                        .build())
                .withElResolver(new CompositeELResolver() {
                    {
                        add(new StringMethodResolver());
                        add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
                    }
                })
                .build());
        for (var function : TemplateFunctions.definitions()) {
            getGlobalContext().registerFunction(function);
            getGlobalContext().put(function.getLocalName(), "<function " + function.getLocalName() + ">");
        }
        PythonFilters.all().forEach(getGlobalContext()::registerFilter);
        getGlobalContext().registerTag(new FilteringForTag());
    }

    @Override
    public ExpressionFactory getExpressionFactory() {
        return expressions;
    }
}
