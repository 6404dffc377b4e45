package dev.kvslim.serve.schedule;

/** A prompt that can never run: longer than the model's context, or its keys and values exceed the KV budget (HTTP 413). */
public final class RequestTooLargeException extends RuntimeException {

    public RequestTooLargeException(String message) {
        super(message);
    }
}
