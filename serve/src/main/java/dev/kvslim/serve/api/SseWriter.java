package dev.kvslim.serve.api;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Server-Sent Events the way vLLM and OpenAI stream completions: every event one {@code data: <json>} line and a
 * blank line, flushed at once, and {@code data: [DONE]} at the end. Written to the response's raw stream whatever
 * the client's Accept header says. A write that fails means the client is gone.
 */
final class SseWriter {

    private final OutputStream out;

    SseWriter(OutputStream out) {
        this.out = out;
    }

    void data(String json) throws IOException {
        send("data: " + json + "\n\n");
    }

    void done() throws IOException {
        send("data: [DONE]\n\n");
    }

    /** Writes and flushes; the webserver reports a closed connection as various runtime exceptions, made one here. */
    private void send(String event) throws IOException {
        try {
            out.write(event.getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (RuntimeException e) {
            throw new IOException("the client is gone: " + e.getMessage(), e);
        }
    }
}
