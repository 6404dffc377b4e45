package dev.kvslim.core.chat;

import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Locale;

/**
 * The functions transformers adds to a chat template's globals: {@code raise_exception(message)}, with which templates
 * reject conversations they cannot format, and {@code strftime_now(format)}, Python's
 * {@code datetime.now().strftime(format)} (Llama 3.1 and later print today's date), English names as in the C locale.
 */
final class TemplateFunctions {

    /** The moment {@code strftime_now} formats, bound for the length of one render. */
    static final ScopedValue<ZonedDateTime> NOW = ScopedValue.newInstance();

    /** What {@code raise_exception} throws; its message is the template's. */
    static final class RaisedException extends RuntimeException {

        RaisedException(String message) {
            super(message);
        }
    }

    private TemplateFunctions() {}

    static List<ELFunctionDefinition> definitions() {
        return List.of(
                new ELFunctionDefinition(
                        "", "raise_exception", TemplateFunctions.class, "raiseException", String.class),
                new ELFunctionDefinition("", "strftime_now", TemplateFunctions.class, "strftimeNow", String.class));
    }

    @SuppressWarnings("UnusedMethod") // called by Jinjava, by name, through the definitions above
    private static String raiseException(String message) {
        throw new RaisedException(message);
    }

    @SuppressWarnings("UnusedMethod") // called by Jinjava, by name, through the definitions above
    private static String strftimeNow(String format) {
        return StrftimeFormatter.format(NOW.get(), format, Locale.ENGLISH);
    }
}
