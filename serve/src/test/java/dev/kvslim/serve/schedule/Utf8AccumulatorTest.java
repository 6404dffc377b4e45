package dev.kvslim.serve.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Streamed text never ends inside a character split between tokens. */
class Utf8AccumulatorTest {

    @Test
    void holdsBackASplitCharacterUntilItsLastByte() {
        byte[] euro = "a€".getBytes(StandardCharsets.UTF_8); // 'a' then 3 bytes
        Utf8Accumulator acc = new Utf8Accumulator();
        acc.write(euro, 0, 2);
        assertThat(acc.take()).isEqualTo("a");
        acc.write(euro, 2, 1);
        assertThat(acc.take()).isEmpty();
        acc.write(euro, 3, 1);
        assertThat(acc.take()).isEqualTo("€");
        byte[] emoji = "😀".getBytes(StandardCharsets.UTF_8);
        acc.write(emoji, 0, 3);
        assertThat(acc.take()).isEmpty();
        assertThat(acc.flush()).isEqualTo("\uFFFD"); // an unfinished character at the end is replaced
    }
}
