package dev.kvslim.serve.schedule;

/** The waiting queue is full (or the scheduler is shutting down): the client should retry later (HTTP 503). */
public final class QueueFullException extends RuntimeException {

    public QueueFullException(String message) {
        super(message);
    }
}
