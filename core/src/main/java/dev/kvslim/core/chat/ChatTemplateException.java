package dev.kvslim.core.chat;

/**
 * A chat template that cannot be parsed or rendered: a Jinja syntax error, a construct the engine does not support,
 * a failing expression, or the template's own {@code raise_exception(...)}. The message names the template's source
 * (the tokenizer_config.json it came from) and the problem.
 */
public final class ChatTemplateException extends RuntimeException {

    ChatTemplateException(String source, String problem) {
        super(source + ": chat template: " + problem);
    }

    ChatTemplateException(String source, String problem, Throwable cause) {
        super(source + ": chat template: " + problem, cause);
    }
}
