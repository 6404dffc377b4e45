package dev.kvslim.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each weight type's vectorised dot product and row expansion against a plain double-precision loop over its
 * own element accessor, and the element accessors against hand-decoded blocks.
 */
class WeightTypesTest {

    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void dotAndRowsAgreeWithElementAccess(GgmlType type) {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int cols : new int[] {32, 64, 96, 288, 256, 768}) {
            int rows = 5;
            float[] values = new float[rows * cols];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) rnd.nextGaussian();
            }
            try (Arena arena = Arena.ofShared()) {
                if (cols % type.blockSize != 0) {
                    continue;
                }
                FloatTensor t = tensor(type, values, rows, cols, arena, rnd);
                float[] x = new float[cols + 3];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rnd.nextGaussian();
                }
                float[] row = new float[cols];
                double[] seen = inputAsMultiplied(t, x, 3);
                for (int r = 0; r < rows; r++) {
                    double expected = 0;
                    for (int c = 0; c < cols; c++) {
                        expected += t.get((long) r * cols + c) * seen[c];
                    }
                    assertThat((double) t.dot(r, x, 3))
                            .as("%s row %d of %d", type, r, cols)
                            .isCloseTo(expected, within(1e-4 * Math.sqrt(cols)));
                    t.dequantizeRow(r, row, 0);
                    for (int c = 0; c < cols; c++) {
                        assertThat(row[c]).isEqualTo(t.get((long) r * cols + c));
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void batchedMatmulEqualsOneTokenAtATime(GgmlType type) {
        SplittableRandom rnd = new SplittableRandom(11);
        int rows = 37, cols = 512, tokens = 7;
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rnd.nextGaussian();
        }
        try (Arena arena = Arena.ofShared()) {
            FloatTensor t = tensor(type, values, rows, cols, arena, rnd);
            float[] x = new float[tokens * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] batched = new float[tokens * rows];
            t.matmul(x, tokens, batched, new MatmulScratch(cols, tokens));
            for (int tok = 0; tok < tokens; tok++) {
                for (int r = 0; r < rows; r++) {
                    float expected = t.dot(r, x, tok * cols);
                    // float sums in another order: the error grows with the sum of the products' magnitudes; the
                    // one-token integer kernels also round the input to 8 bits, which moves the sum by at most
                    // sum(|w| * |rounded x - x|)
                    float[] w = new float[cols];
                    t.dequantizeRow(r, w, 0);
                    double[] seen = inputAsMultiplied(t, x, tok * cols);
                    double magnitude = 0, rounding = 0;
                    for (int c = 0; c < cols; c++) {
                        magnitude += Math.abs(w[c] * x[tok * cols + c]);
                        rounding += Math.abs(w[c] * (seen[c] - x[tok * cols + c]));
                    }
                    assertThat(batched[tok * rows + r])
                            .isCloseTo(expected, within((float) (1e-4 + 1e-6 * magnitude + rounding)));
                }
            }
        }
    }

    /**
     * A batch of up to {@link FloatTensor#SMALL_BATCH} tokens gives each token exactly what it gets alone (the
     * one-token kernels, rows taken in groups across the threads), whichever backend the scratch names.
     */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void smallBatchesEqualOneTokenAtATimeExactly(GgmlType type) {
        SplittableRandom rnd = new SplittableRandom(19);
        int rows = 203, cols = 512;
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rnd.nextGaussian();
        }
        try (Arena arena = Arena.ofShared()) {
            FloatTensor t = tensor(type, values, rows, cols, arena, rnd);
            for (int tokens = 2; tokens <= FloatTensor.SMALL_BATCH; tokens++) {
                float[] x = new float[tokens * cols];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rnd.nextGaussian();
                }
                for (MatmulBackend backend : MatmulBackend.values()) {
                    if (backend == MatmulBackend.ONEDNN && !OneDnn.available()) {
                        continue;
                    }
                    float[] batched = new float[tokens * rows];
                    t.matmul(x, tokens, batched, new MatmulScratch(cols, tokens, backend));
                    float[] one = new float[rows];
                    for (int tok = 0; tok < tokens; tok++) {
                        t.matmul(
                                java.util.Arrays.copyOfRange(x, tok * cols, (tok + 1) * cols),
                                1,
                                one,
                                new MatmulScratch(cols, 1));
                        assertThat(java.util.Arrays.copyOfRange(batched, tok * rows, (tok + 1) * rows))
                                .as("%s token %d of %d, %s", type, tok, tokens, backend)
                                .containsExactly(one);
                    }
                }
            }
        }
    }

    /**
     * Several matrices by one input in one parallel loop: each output exactly as the matrix's own product, whichever
     * way the rows of all of them fall to the threads (row counts that split groups of four across matrices).
     */
    @Test
    void matmulEachEqualsEachMatmulExactly() {
        SplittableRandom rnd = new SplittableRandom(17);
        int cols = 256;
        GgmlType[] types = {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.F16, GgmlType.Q6_K};
        int[] rows = {37, 6, 515, 2};
        try (Arena arena = Arena.ofShared()) {
            FloatTensor[] ts = new FloatTensor[types.length];
            for (int i = 0; i < ts.length; i++) {
                float[] values = new float[rows[i] * cols];
                for (int j = 0; j < values.length; j++) {
                    values[j] = (float) rnd.nextGaussian();
                }
                ts[i] = tensor(types[i], values, rows[i], cols, arena, rnd);
            }
            for (int tokens : new int[] {1, 3}) {
                float[] x = new float[tokens * cols];
                for (int j = 0; j < x.length; j++) {
                    x[j] = (float) rnd.nextGaussian();
                }
                float[][] together = new float[ts.length][], alone = new float[ts.length][];
                for (int i = 0; i < ts.length; i++) {
                    together[i] = new float[tokens * rows[i]];
                    alone[i] = new float[tokens * rows[i]];
                    ts[i].matmul(x, tokens, alone[i], new MatmulScratch(cols, tokens, MatmulBackend.JAVA));
                }
                FloatTensor.matmulEach(ts, x, tokens, together, new MatmulScratch(cols, tokens, MatmulBackend.JAVA));
                for (int i = 0; i < ts.length; i++) {
                    assertThat(together[i])
                            .as("%s, %d tokens", types[i], tokens)
                            .containsExactly(alone[i]);
                }
            }
        }
    }

    /**
     * A one-token product reads several rows at once where a type has such a kernel; each row must still come out
     * exactly as {@link FloatTensor#dot} computes it, or the output would depend on how rows fall into groups (the
     * thread count). Row counts around multiples of four and column counts with odd numbers of blocks.
     */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void oneTokenMatmulEqualsDotOfEveryRowExactly(GgmlType type) {
        SplittableRandom rnd = new SplittableRandom(13);
        for (int rows : new int[] {1, 2, 3, 4, 5, 9, 38}) {
            for (int cols : new int[] {256, 768, 1000, 1280, 1312}) {
                if (cols % type.blockSize != 0) {
                    continue;
                }
                float[] values = new float[rows * cols];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) rnd.nextGaussian();
                }
                try (Arena arena = Arena.ofShared()) {
                    FloatTensor t = tensor(type, values, rows, cols, arena, rnd);
                    float[] x = new float[cols];
                    for (int i = 0; i < cols; i++) {
                        x[i] = (float) rnd.nextGaussian();
                    }
                    float[] out = new float[rows];
                    t.matmul(x, 1, out, new MatmulScratch(cols, 1));
                    for (int r = 0; r < rows; r++) {
                        assertThat(out[r])
                                .as("%s row %d of %d x %d", type, r, rows, cols)
                                .isEqualTo(t.dot(r, x, 0));
                    }
                }
            }
        }
    }

    /**
     * The input as a one-token product of {@code t} multiplies it: where the integer kernels run (Q8_0, Q4_0, Q4_K,
     * Q6_K with 16-lane vectors) each block rounded to 8-bit codes times its scale, written here from ggml's
     * definitions: Q8_0 for Q8_0 and Q4_0 as its x86 code rounds it (per 32 values codes {@code rint(x * 127 /
     * max|x|)}, times {@code max|x| / 127} rounded to a half float), Q8_K for the K-quants (per 256 values {@code s = -127 / max}, max the value of largest magnitude,
     * codes {@code min(127, rint(s x))}, times {@code 1 / s}); elsewhere the input itself.
     */
    static double[] inputAsMultiplied(FloatTensor t, float[] x, int off) {
        int cols = t.cols();
        double[] out = new double[cols];
        boolean integer = Kernels.F.length() == 16
                && t.prepares()
                && (t.type() == GgmlType.Q8_0
                        || t.type() == GgmlType.Q4_0
                        || t.type() == GgmlType.Q4_K
                        || t.type() == GgmlType.Q6_K);
        if (!integer) {
            for (int c = 0; c < cols; c++) {
                out[c] = x[off + c];
            }
            return out;
        }
        int block = t.type() == GgmlType.Q8_0 || t.type() == GgmlType.Q4_0 ? 32 : 256;
        for (int b = 0; b < cols; b += block) {
            float amax = 0, max = 0;
            for (int c = b; c < b + block; c++) {
                if (Math.abs(x[off + c]) > amax) {
                    amax = Math.abs(x[off + c]);
                    max = x[off + c];
                }
            }
            for (int c = b; c < b + block; c++) {
                float v = x[off + c];
                if (amax == 0) {
                    out[c] = 0;
                } else if (block == 32) {
                    out[c] = Math.rint(v * (127f / amax)) * Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
                } else {
                    float s = -127f / max;
                    out[c] = Math.min(127, Math.rint(s * v)) * (double) (1f / s);
                }
            }
        }
        return out;
    }

    /**
     * {@code values} encoded as {@code type} where the quantizer writes it; otherwise (the K-quants, IQ4_NL, which
     * are only read) blocks of random codes whose half-float scales are set to small positive values.
     */
    static FloatTensor tensor(GgmlType type, float[] values, int rows, int cols, Arena arena, SplittableRandom rnd) {
        if (Quantizer.canEncode(type)) {
            return Tensors.of(type, Quantizer.encode(Tensors.f32(arena, values, rows, cols), type, arena), rows, cols);
        }
        long bytes = type.bytesFor((long) rows * cols);
        MemorySegment seg = arena.allocate(bytes);
        for (long i = 0; i < bytes; i++) {
            seg.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt());
        }
        int[] halfScales = switch (type) {
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            case IQ4_NL -> new int[] {0};
            default -> throw new IllegalStateException(type.name());
        };
        for (long b = 0; b < bytes; b += type.blockBytes) {
            for (int at : halfScales) {
                // small scales: values of order one, like the encoded types' (Q6_K's signed 8-bit sub-block scales
                // and 6-bit codes reach 128 * 32 times its scale)
                seg.set(LE16, b + at, Float.floatToFloat16((float) (1e-4 + 3e-4 * rnd.nextDouble())));
            }
        }
        return Tensors.of(type, seg, rows, cols);
    }

    @Test
    void q4KBlockDecodesByHand() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment b = arena.allocate(144);
            b.set(LE16, 0, Float.floatToFloat16(0.5f)); // d
            b.set(LE16, 2, Float.floatToFloat16(0.25f)); // dmin
            // sub-block 0: scale 3, min 5 (bytes 0 and 4, low six bits); sub-block 5: scale 2 | 1 << 4 = 18,
            // min 7 | 2 << 4 = 39 (byte 9 nibbles, top bits in bytes 1 and 5)
            b.set(ValueLayout.JAVA_BYTE, 4, (byte) 3);
            b.set(ValueLayout.JAVA_BYTE, 8, (byte) 5);
            b.set(ValueLayout.JAVA_BYTE, 13, (byte) (2 | 7 << 4));
            b.set(ValueLayout.JAVA_BYTE, 5, (byte) (1 << 6));
            b.set(ValueLayout.JAVA_BYTE, 9, (byte) (2 << 6));
            // value 0 (sub-block 0, low nibble of byte 0) = 9; value 160 (sub-block 5 = pair 2, high nibbles,
            // byte 0 of pair 2) = 11
            b.set(ValueLayout.JAVA_BYTE, 16, (byte) 9);
            b.set(ValueLayout.JAVA_BYTE, 16 + 64, (byte) (11 << 4));
            Q4_KTensor t = new Q4_KTensor(b, 1, 256);
            assertThat(t.get(0)).isEqualTo(0.5f * 3 * 9 - 0.25f * 5);
            assertThat(t.get(1)).isEqualTo(-0.25f * 5);
            assertThat(t.get(160)).isEqualTo(0.5f * 18 * 11 - 0.25f * 39);
            assertThat(t.get(64)).isEqualTo(0f); // sub-block 2: scale and min 0
        }
    }

    @Test
    void q5KBlockDecodesByHand() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment b = arena.allocate(176);
            b.set(LE16, 0, Float.floatToFloat16(0.5f)); // d
            b.set(LE16, 2, Float.floatToFloat16(0.25f)); // dmin
            // sub-block 0: scale 3, min 5; sub-block 7: scale 4 | 1 << 4 = 20, min 6 (byte 15 nibbles, top bits of
            // the scale in byte 7)
            b.set(ValueLayout.JAVA_BYTE, 4, (byte) 3);
            b.set(ValueLayout.JAVA_BYTE, 8, (byte) 5);
            b.set(ValueLayout.JAVA_BYTE, 15, (byte) (4 | 6 << 4));
            b.set(ValueLayout.JAVA_BYTE, 7, (byte) (1 << 6));
            // value 0: low nibble 9 of code byte 0, bit 0 of fifth-bit byte 0 set -> 25; value 1: nibble 2, no fifth
            // bit; value 224 + 5 (sub-block 7 = pair 3, high nibbles, byte 5 of pair 3): nibble 10, bit 7 of
            // fifth-bit byte 5 set -> 26
            b.set(ValueLayout.JAVA_BYTE, 48, (byte) 9);
            b.set(ValueLayout.JAVA_BYTE, 49, (byte) 2);
            b.set(ValueLayout.JAVA_BYTE, 16, (byte) 1);
            b.set(ValueLayout.JAVA_BYTE, 48 + 96 + 5, (byte) (10 << 4));
            b.set(ValueLayout.JAVA_BYTE, 16 + 5, (byte) 0x80);
            Q5_KTensor t = new Q5_KTensor(b, 1, 256);
            assertThat(t.get(0)).isEqualTo(0.5f * 3 * 25 - 0.25f * 5);
            assertThat(t.get(1)).isEqualTo(0.5f * 3 * 2 - 0.25f * 5);
            assertThat(t.get(224 + 5)).isEqualTo(0.5f * 20 * 26 - 0.25f * 6);
            assertThat(t.get(32)).isEqualTo(0f); // sub-block 1: scale and min 0
        }
    }

    @Test
    void q6KBlockDecodesByHand() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment b = arena.allocate(210);
            b.set(LE16, 208, Float.floatToFloat16(0.5f));
            for (int i = 0; i < 16; i++) {
                b.set(ValueLayout.JAVA_BYTE, 192 + i, (byte) (i - 8)); // signed scales -8..7
            }
            // value 0: low nibble of ql[0] = 5, bits 0-1 of qh[0] = 2 -> code 5 | 32 = 37 -> 5, scale -8
            // value 96 (third group of the first half): high nibble of ql[32] = 1, bits 6-7 of qh[0] = 3 -> 49 -> 17,
            // scale index 6 -> -2; value 128 + 17 (second half, scale index 8 + 1 = 9 -> 1): ql[64 + 17] low 15,
            // qh[128 + 32 + 17] bits 0-1 = 0 -> 15 - 32 = -17
            b.set(ValueLayout.JAVA_BYTE, 0, (byte) 5);
            b.set(ValueLayout.JAVA_BYTE, 32, (byte) (1 << 4));
            b.set(ValueLayout.JAVA_BYTE, 128, (byte) (2 | 3 << 6));
            b.set(ValueLayout.JAVA_BYTE, 64 + 17, (byte) 15);
            Q6_KTensor t = new Q6_KTensor(b, 1, 256);
            assertThat(t.get(0)).isEqualTo(0.5f * -8 * 5);
            assertThat(t.get(96)).isEqualTo(0.5f * -2 * 17);
            assertThat(t.get(128 + 17)).isEqualTo(0.5f * 1 * -17);
        }
    }

    @Test
    void f16WideningIsExactForEveryFiniteHalf() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(2L * 65536);
            int n = 0;
            for (int bits = 0; bits < 65536; bits++) {
                if ((bits & 0x7c00) != 0x7c00) { // skip inf and NaN
                    seg.setAtIndex(LE16, n++, (short) bits);
                }
            }
            int cols = 32;
            int rows = n / cols;
            F16Tensor t = new F16Tensor(seg, rows, cols);
            float[] x = new float[cols];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    java.util.Arrays.fill(x, 0f);
                    x[c] = 1f;
                    float expected = Float.float16ToFloat(seg.getAtIndex(LE16, (long) r * cols + c));
                    assertThat(t.dot(r, x, 0)).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void q8BlockDecodesByHand() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment block = arena.allocate(34);
            block.set(LE16, 0, Float.floatToFloat16(0.5f));
            for (int j = 0; j < 32; j++) {
                block.set(ValueLayout.JAVA_BYTE, 2 + j, (byte) (j - 16));
            }
            Q8_0Tensor t = new Q8_0Tensor(block, 1, 32);
            for (int j = 0; j < 32; j++) {
                assertThat(t.get(j)).isEqualTo(0.5f * (j - 16));
            }
        }
    }

    @Test
    void q4BlockDecodesByHand() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment block = arena.allocate(18);
            block.set(LE16, 0, Float.floatToFloat16(2f));
            for (int j = 0; j < 16; j++) {
                // value j in the low nibble, value j+16 in the high nibble
                block.set(ValueLayout.JAVA_BYTE, 2 + j, (byte) (j | ((15 - j) << 4)));
            }
            Q4_0Tensor t = new Q4_0Tensor(block, 1, 32);
            for (int j = 0; j < 16; j++) {
                assertThat(t.get(j)).isEqualTo(2f * (j - 8));
                assertThat(t.get(16 + j)).isEqualTo(2f * (15 - j - 8));
            }
        }
    }

    @Test
    void quantizersRoundLikeGgml() {
        // Q8_0: d = amax/127, q = roundf(x/d), halves away from zero
        assertThat(Quantizer.roundHalfAway(-2.5f)).isEqualTo(-3);
        assertThat(Quantizer.roundHalfAway(2.5f)).isEqualTo(3);
        float[] row = new float[32];
        row[0] = 127f;
        row[1] = -63.5f;
        row[2] = 0.49f;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment out = arena.allocate(34);
            Quantizer.encodeRow(row, GgmlType.Q8_0, out, 0);
            assertThat(Float.float16ToFloat(out.get(LE16, 0))).isEqualTo(1f);
            assertThat(out.get(ValueLayout.JAVA_BYTE, 2)).isEqualTo((byte) 127);
            assertThat(out.get(ValueLayout.JAVA_BYTE, 3)).isEqualTo((byte) -64);
            assertThat(out.get(ValueLayout.JAVA_BYTE, 4)).isEqualTo((byte) 0);
            // Q4_0: d = (signed max)/-8, nibble = min(15, (int)(x/d + 8.5))
            float[] q4 = new float[32];
            q4[0] = -8f;
            q4[1] = 4f;
            q4[17] = 7f;
            MemorySegment b = arena.allocate(18);
            Quantizer.encodeRow(q4, GgmlType.Q4_0, b, 0);
            Q4_0Tensor t = new Q4_0Tensor(b, 1, 32);
            assertThat(Float.float16ToFloat(b.get(LE16, 0))).isEqualTo(1f);
            assertThat(t.get(0)).isEqualTo(-8f);
            assertThat(t.get(1)).isEqualTo(4f);
            assertThat(t.get(17)).isEqualTo(7f);
            assertThat(t.get(5)).isEqualTo(0f);
        }
    }
}
