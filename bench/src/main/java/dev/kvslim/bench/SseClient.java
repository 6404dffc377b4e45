package dev.kvslim.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A bare HTTP/1.1 client of one server-sent-event stream over its own socket ({@code Connection: close}), so that a
 * load test controls exactly when a client goes away: {@link #close} drops the connection at once, as a browser tab
 * or a killed process would. Decodes chunked transfer encoding; a body with a length is read to its length (the server
 * may keep the connection open after it).
 */
final class SseClient implements AutoCloseable {

    private final Socket socket;
    private final InputStream in;
    private final int status;
    private final Map<String, String> headers = new HashMap<>();
    private final InputStream body;

    /** Sends {@code json} to {@code path} on the loopback port and reads the status line and headers. */
    SseClient(int port, String path, String json) throws IOException {
        this(port, path, json, 120_000);
    }

    /** As above, failing a read that waits more than {@code timeoutMillis}. */
    SseClient(int port, String path, String json, int timeoutMillis) throws IOException {
        socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout(timeoutMillis);
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Accept: text/event-stream\r\nConnection: close\r\nContent-Length: " + bytes.length
                        + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
        in = new BufferedInputStream(socket.getInputStream());
        String statusLine = line(in);
        if (statusLine == null || !statusLine.startsWith("HTTP/1.1 ")) {
            throw new IOException("not an HTTP response: " + statusLine);
        }
        status = Integer.parseInt(statusLine.substring(9, 12));
        for (String h; (h = line(in)) != null && !h.isEmpty(); ) {
            int colon = h.indexOf(':');
            if (colon > 0) {
                headers.put(
                        h.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                        h.substring(colon + 1).trim());
            }
        }
        String length = headers.get("content-length");
        body = "chunked".equalsIgnoreCase(headers.get("transfer-encoding"))
                ? new Chunked(in)
                : length != null ? new java.io.ByteArrayInputStream(in.readNBytes(Integer.parseInt(length))) : in;
    }

    int status() {
        return status;
    }

    String header(String name) {
        return headers.get(name.toLowerCase(Locale.ROOT));
    }

    /** The next event's data, or null at the end of the stream. */
    String nextEvent() throws IOException {
        for (String l; (l = line(body)) != null; ) {
            if (l.startsWith("data: ")) {
                return l.substring(6);
            }
        }
        return null;
    }

    /** The rest of the body as text (an error's JSON). */
    String rest() throws IOException {
        return new String(body.readAllBytes(), StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /** One line without its CR LF, or null at the end. */
    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1 && c != '\n') {
            b.write(c);
        }
        if (c == -1 && b.size() == 0) {
            return null;
        }
        String s = b.toString(StandardCharsets.UTF_8);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    /** The body of a chunked response. */
    @SuppressWarnings("InputStreamSlowMultibyteRead") // line() reads it one byte at a time anyway
    private static final class Chunked extends InputStream {
        private final InputStream in;
        private int left;
        private boolean done;

        Chunked(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            if (done) {
                return -1;
            }
            if (left == 0) {
                String size = line(in);
                if (size != null && size.isEmpty()) {
                    size = line(in); // the CR LF that ends the previous chunk
                }
                if (size == null) {
                    done = true;
                    return -1;
                }
                int semicolon = size.indexOf(';');
                left = Integer.parseInt((semicolon >= 0 ? size.substring(0, semicolon) : size).trim(), 16);
                if (left == 0) {
                    done = true;
                    return -1;
                }
            }
            int c = in.read();
            if (c == -1) {
                done = true;
                return -1;
            }
            left--;
            return c;
        }
    }
}
