package dev.kvslim.core.constrain;

/**
 * A grammar, JSON schema or regular expression that cannot be decoded under: the message is one line naming what is
 * wrong (the keyword, the construct and where it is), fit to return to a client as is.
 */
public final class GrammarException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public GrammarException(String message) {
        super(message);
    }
}
