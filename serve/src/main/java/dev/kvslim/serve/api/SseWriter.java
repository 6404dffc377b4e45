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
        out.write(("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    void done() throws IOException {
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
