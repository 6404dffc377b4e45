package dev.kvslim.serve.schedule;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns the UTF-8 bytes of streamed token pieces into text, holding back a character split between tokens until its
 * last byte arrives: a streamed delta never ends in half a character. Bytes that can never complete one are
 * replaced (U+FFFD), as a decoder would.
 */
final class Utf8Accumulator {

    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    void write(byte[] b, int off, int len) {
        pending.write(b, off, len);
    }

    /** The text of every complete character written so far and not yet taken. */
    String take() {
        byte[] bytes = pending.toByteArray();
        int complete = completePrefix(bytes);
        pending.reset();
        pending.write(bytes, complete, bytes.length - complete);
        return new String(bytes, 0, complete, StandardCharsets.UTF_8);
    }

    /** Everything left, an unfinished character replaced. */
    String flush() {
        String s = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return s;
    }

    /** Length of the longest prefix that does not end inside a character that could still be completed. */
    static int completePrefix(byte[] b) {
        int n = b.length;
        // a character is at most 4 bytes: look back for the lead byte of the last one
        for (int back = 1; back <= Math.min(4, n); back++) {
            int c = b[n - back] & 0xFF;
            if ((c & 0xC0) == 0x80) {
                continue; // continuation byte
            }
            int need = c >= 0xF5 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }
}
