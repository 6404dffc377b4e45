package dev.kvslim.core.generate;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StopFilterTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    private StopFilter filter(String... stops) {
        return new StopFilter(List.of(stops), out::write);
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void stopStringSplitAcrossPiecesIsCutAndNothingAfterItLeaks() {
        StopFilter f = filter("END");
        assertThat(f.append(b("abc E"))).isFalse();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("abc "); // "E" held back
        assertThat(f.append(b("N"))).isFalse();
        assertThat(f.append(b("Dxyz"))).isTrue();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("abc ");
    }

    @Test
    void heldBackTextIsReleasedWhenItDoesNotStop() {
        StopFilter f = filter("END", "\n\n");
        f.append(b("a EN"));
        f.append(b("x\n"));
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("a ENx");
        f.finish();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("a ENx\n");
    }

    @Test
    void earliestOfSeveralStopsWins() {
        StopFilter f = filter("cd", "b");
        assertThat(f.append(b("abcd"))).isTrue();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("a");
    }

    @Test
    void multiByteCharactersSplitBetweenPiecesPassThrough() {
        StopFilter f = filter("é!");
        byte[] e = b("é");
        f.append(new byte[] {e[0]});
        f.append(new byte[] {e[1]});
        f.append(b("?"));
        f.finish();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("é?");
    }

    @Test
    void theAutomatonCutsWhereTheStraightforwardSearchCuts() {
        // random stop sets over a small alphabet (two-byte characters included), random texts in random pieces,
        // against a plain search: the earliest-starting complete stop string, and the longest stop-string prefix held
        String[] alphabet = {"a", "b", "c", "é", "\n"};
        SplittableRandom rnd = new SplittableRandom(7);
        for (int trial = 0; trial < 3000; trial++) {
            List<String> stops = new ArrayList<>();
            for (int i = 1 + rnd.nextInt(6); i > 0; i--) {
                stops.add(word(rnd, alphabet, 1 + rnd.nextInt(4)));
            }
            String text = word(rnd, alphabet, rnd.nextInt(30));
            byte[] bytes = b(text);
            ByteArrayOutputStream fast = new ByteArrayOutputStream(), plain = new ByteArrayOutputStream();
            StopFilter filter = new StopFilter(stops, fast::write);
            PlainStops reference = new PlainStops(stops, plain);
            boolean stopped = false, expected = false;
            for (int at = 0; at < bytes.length && !stopped; ) {
                int len = Math.min(bytes.length - at, 1 + rnd.nextInt(5));
                byte[] piece = Arrays.copyOfRange(bytes, at, at + len);
                stopped = filter.append(piece);
                expected = reference.append(piece);
                assertThat(stopped).as("%s in %s", stops, text).isEqualTo(expected);
                assertThat(fast.toByteArray()).as("%s in %s", stops, text).isEqualTo(plain.toByteArray());
                at += len;
            }
            if (!stopped) {
                filter.finish();
                plain.writeBytes(reference.rest());
                assertThat(fast.toByteArray()).as("%s in %s", stops, text).isEqualTo(plain.toByteArray());
            }
        }
    }

    private static String word(SplittableRandom rnd, String[] alphabet, int n) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < n; i++) {
            s.append(alphabet[rnd.nextInt(alphabet.length)]);
        }
        return s.toString();
    }

    /** The straightforward search the automaton replaced: look for every stop string in all held bytes. */
    private static final class PlainStops {
        private final List<byte[]> stops = new ArrayList<>();
        private final ByteArrayOutputStream out;
        private byte[] pending = new byte[0];

        PlainStops(List<String> stops, ByteArrayOutputStream out) {
            stops.forEach(s -> this.stops.add(b(s)));
            this.out = out;
        }

        boolean append(byte[] piece) {
            byte[] all = Arrays.copyOf(pending, pending.length + piece.length);
            System.arraycopy(piece, 0, all, pending.length, piece.length);
            int first = -1;
            for (byte[] s : stops) {
                for (int i = 0; i + s.length <= all.length; i++) {
                    if (Arrays.equals(all, i, i + s.length, s, 0, s.length)) {
                        first = first < 0 ? i : Math.min(first, i);
                        break;
                    }
                }
            }
            if (first >= 0) {
                out.write(all, 0, first);
                return true;
            }
            int held = 0;
            for (byte[] s : stops) {
                for (int len = Math.min(s.length - 1, all.length); len > held; len--) {
                    if (Arrays.equals(all, all.length - len, all.length, s, 0, len)) {
                        held = len;
                        break;
                    }
                }
            }
            out.write(all, 0, all.length - held);
            pending = Arrays.copyOfRange(all, all.length - held, all.length);
            return false;
        }

        byte[] rest() {
            return pending;
        }
    }
}
