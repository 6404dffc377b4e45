package dev.kvslim.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HalfFloatsTest {

    /** Every one of the 65,536 half floats, widened in vectors, against the JDK's scalar conversion. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void widenF16IsExactForEveryFiniteHalf(boolean scales) {
        int lanes = HalfFloats.SHORTS.length();
        short[] halves = new short[lanes];
        float[] out = new float[lanes];
        for (int start = 0; start < 1 << 16; start += lanes) {
            for (int i = 0; i < lanes; i++) {
                halves[i] = (short) (start + i);
            }
            ShortVector h = ShortVector.fromArray(HalfFloats.SHORTS, halves, 0);
            FloatVector v = scales ? HalfFloats.widenF16Scales(h) : HalfFloats.widenF16(h);
            v.intoArray(out, 0);
            for (int i = 0; i < lanes; i++) {
                float expected = Float.float16ToFloat(halves[i]);
                if (Float.isFinite(expected)) {
                    // bit for bit: the sign of zero included
                    assertThat(Float.floatToRawIntBits(out[i]))
                            .as("half 0x%04x", halves[i] & 0xFFFF)
                            .isEqualTo(Float.floatToRawIntBits(expected));
                } else {
                    // infinities and NaNs, which no usable weight holds, become +-65536 and up
                    assertThat(Math.abs(out[i]))
                            .as("half 0x%04x", halves[i] & 0xFFFF)
                            .isBetween(65536f, 131072f);
                    assertThat(Math.copySign(1f, out[i])).isEqualTo(halves[i] < 0 ? -1f : 1f);
                }
            }
        }
    }
}
