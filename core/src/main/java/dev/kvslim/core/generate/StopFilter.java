package dev.kvslim.core.generate;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Holds back output that could be the start of a stop string, and cuts the text at the first stop string.
 * Works on UTF-8 bytes, so pieces that split a character are handled like any others. Only the bytes not yet
 * written are kept: a stop string cannot begin in written text, since any unfinished start of one is held.
 * One filter per sequence; {@link Decoding} runs every sequence's text through one.
 */
public final class StopFilter {
    private final byte[][] stops;
    private final Generator.Sink sink;
    private byte[] pending = new byte[64];
    private int length;

    public StopFilter(List<String> stopStrings, Generator.Sink sink) {
        this.stops = stopStrings.stream()
                .map(s -> s.getBytes(StandardCharsets.UTF_8))
                .toArray(byte[][]::new);
        this.sink = sink;
    }

    /** Adds bytes; returns true when a stop string completed (text before it has been written). */
    public boolean append(byte[] piece) {
        if (stops.length == 0) {
            sink.write(piece, 0, piece.length);
            return false;
        }
        if (length + piece.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(2 * pending.length, length + piece.length));
        }
        System.arraycopy(piece, 0, pending, length, piece.length);
        length += piece.length;
        int cut = firstStop();
        if (cut >= 0) {
            emit(cut);
            return true;
        }
        emit(length - heldBack());
        return false;
    }

    /** Writes what was held back: generation ended without a stop string. */
    public void finish() {
        emit(length);
    }

    /** Writes the first {@code n} pending bytes and drops them. */
    private void emit(int n) {
        if (n > 0) {
            sink.write(pending, 0, n);
            System.arraycopy(pending, n, pending, 0, length - n);
            length -= n;
        }
    }

    private int firstStop() {
        int best = -1;
        for (byte[] s : stops) {
            int at = indexOf(s);
            if (at >= 0 && (best < 0 || at < best)) {
                best = at;
            }
        }
        return best;
    }

    /** Length of the longest tail of the pending bytes that begins some stop string. */
    private int heldBack() {
        int held = 0;
        for (byte[] s : stops) {
            for (int len = Math.min(s.length - 1, length); len > held; len--) {
                if (Arrays.equals(pending, length - len, length, s, 0, len)) {
                    held = len;
                    break;
                }
            }
        }
        return held;
    }

    private int indexOf(byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (pending[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
