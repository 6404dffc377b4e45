package dev.kvslim.core.generate;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
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
}
