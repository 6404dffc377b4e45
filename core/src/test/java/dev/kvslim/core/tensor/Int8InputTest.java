package dev.kvslim.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The integer kernels' input rounding, worked by hand from ggml's definitions, and the slots it is stored in. */
class Int8InputTest {

    @Test
    void q8_0RoundsHalvesToEvenAndKeepsTheScaleAsAHalfFloat() {
        float[] x = new float[32];
        x[0] = 127f; // max |x|: the scale is 1, each code is x itself rounded
        x[1] = 2.5f; // a tie: to even, 2 (C's roundf would give 3)
        x[2] = 3.5f; // 4
        x[3] = -2.5f; // -2
        x[4] = -126.6f; // -127
        x[5] = 0.49f; // 0
        byte[] codes = new byte[32];
        assertThat(Int8Input.q8_0(x, 0, codes, 0)).isEqualTo(1f);
        assertThat(new byte[] {codes[0], codes[1], codes[2], codes[3], codes[4], codes[5], codes[6]})
                .containsExactly(127, 2, 4, -2, -127, 0, 0);

        // max 1: the scale 1/127 = 0.007874016 is stored as the half float 0.007873535
        float[] y = new float[32];
        y[7] = -1f;
        y[8] = 0.5f; // 63.5: to even, 64
        assertThat(Int8Input.q8_0(y, 0, codes, 0)).isEqualTo(0.007873535f);
        assertThat(codes[7]).isEqualTo((byte) -127);
        assertThat(codes[8]).isEqualTo((byte) 64);

        assertThat(Int8Input.q8_0(new float[32], 0, codes, 0)).isZero();
        assertThat(codes).containsOnly(0);
    }

    @Test
    void q8KScalesByTheSignedMaximumAndCapsAt127() {
        float[] x = new float[256];
        x[10] = -2f; // the value of largest magnitude: iscale = -127 / -2 = 63.5
        x[11] = 1f; // 63.5: to even, 64
        x[12] = 0.5f; // 31.75: 32
        x[13] = 2f; // 127
        x[14] = -1f; // -63.5: to even, -64
        byte[] codes = new byte[256];
        assertThat(KQuants.q8K(x, 0, codes, 0)).isEqualTo(1f / 63.5f);
        assertThat(new byte[] {codes[10], codes[11], codes[12], codes[13], codes[14], codes[15]})
                .containsExactly(-127, 64, 32, 127, -64, 0);

        // a positive maximum: iscale = -127 / 2, so the codes come out negated (and the scale negative)
        x[10] = 2f;
        x[13] = 0f;
        assertThat(KQuants.q8K(x, 0, codes, 0)).isEqualTo(-1f / 63.5f);
        assertThat(new byte[] {codes[10], codes[11], codes[12], codes[14]}).containsExactly(-127, -64, -32, 64);
    }

    @Test
    void codesGoTwoToASlotInTheGivenOrderAndReadBackAsShorts() {
        byte[] codes = {5, -3, 7, 127, -128, 0};
        int[] order = {3, 1, 0, 4};
        float[] p = new float[2 + 16];
        Int8Input.putCodes(MemorySegment.ofArray(p), 2, codes, 0, order);
        Int8Input.putInt(MemorySegment.ofArray(p), 4, -12345);
        if (Kernels.F.length() == 16) {
            // what a kernel does: 16 slots loaded as floats and reinterpreted as 32 shorts (or 16 ints)
            short[] lanes =
                    FloatVector.fromArray(Kernels.F, p, 2).reinterpretAsShorts().toArray();
            assertThat(new short[] {lanes[0], lanes[1], lanes[2], lanes[3]}).containsExactly(127, -3, 5, -128);
            assertThat(FloatVector.fromArray(Kernels.F, p, 2)
                            .reinterpretAsInts()
                            .lane(2))
                    .isEqualTo(-12345);
        }
        MemorySegment s = MemorySegment.ofArray(p);
        assertThat(s.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 8L + 2))
                .isEqualTo((short) -3);
        assertThat(s.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 16L)).isEqualTo(-12345);
    }
}
