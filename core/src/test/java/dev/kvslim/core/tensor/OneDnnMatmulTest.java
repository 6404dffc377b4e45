package dev.kvslim.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The oneDNN backend of batched products against a double-precision sum over the same operands: the weights as their
 * type decodes them, and for the types it multiplies in bfloat16 both operands rounded to bfloat16 (the scalar
 * reference rounding). Where libdnnl.so.2 is missing, what the backend choice does instead.
 */
class OneDnnMatmulTest {

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void batchedProductsAgreeWithTheRoundedOperands(GgmlType type) {
        if (!OneDnn.available()) {
            assertThat(MatmulBackend.parse("auto")).isEqualTo(MatmulBackend.JAVA);
            return;
        }
        // 37 rows: one chunk, not a whole number of anything; 16 and 33 tokens: the smallest native batch and an odd
        // one
        check(type, 37, 512, 16, 1);
        check(type, 37, 512, 33, 2);
    }

    /** Rows over several chunks (the last one short), each written at its column offset of the output. */
    @ParameterizedTest
    @EnumSource(
            value = GgmlType.class,
            names = {"F32", "F16", "BF16", "Q8_0", "Q4_K"})
    void rowsOverSeveralChunksLandInTheirColumns(GgmlType type) {
        if (!OneDnn.available()) {
            assertThat(MatmulBackend.parse("auto")).isEqualTo(MatmulBackend.JAVA);
            return;
        }
        int cols = 4096;
        check(type, FloatTensor.nativeChunkRows(cols) * 2 + 40, cols, 17, 3);
    }

    private static void check(GgmlType type, int rows, int cols, int tokens, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rnd.nextGaussian();
        }
        try (Arena arena = Arena.ofShared()) {
            FloatTensor t = WeightTypesTest.tensor(type, values, rows, cols, arena, rnd);
            float[] x = new float[tokens * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] out = new float[tokens * rows];
            MatmulScratch scratch = new MatmulScratch(cols, tokens, MatmulBackend.ONEDNN);
            t.matmul(x, tokens, out, scratch);
            boolean bf16 = t.nativeInBf16();
            assertThat(bf16).isEqualTo(type != GgmlType.F32 && type != GgmlType.F16);
            float[] w = new float[cols];
            for (int r = 0; r < rows; r++) {
                t.dequantizeRow(r, w, 0);
                for (int tok = 0; tok < tokens; tok++) {
                    double expected = 0, magnitude = 0;
                    for (int c = 0; c < cols; c++) {
                        float a = x[tok * cols + c], b = w[c];
                        if (bf16) {
                            a = HalfFloats.bf16ToFloat(HalfFloats.toBf16(a));
                            b = HalfFloats.bf16ToFloat(HalfFloats.toBf16(b));
                        }
                        expected += (double) a * b;
                        magnitude += Math.abs((double) a * b);
                    }
                    // float sums in some order: the error grows with the products' magnitudes
                    assertThat((double) out[tok * rows + r])
                            .as("%s row %d token %d of %d x %d", type, r, tok, rows, cols)
                            .isCloseTo(expected, within(1e-4 + 2e-6 * magnitude));
                }
            }
        }
    }

    @Test
    void vectorRoundingToBf16EqualsTheScalarOne() {
        SplittableRandom rnd = new SplittableRandom(5);
        float[] f = new float[1003];
        for (int i = 0; i < f.length; i++) {
            // random bits, and exact ties (lower half 0x8000) with even and odd upper halves
            int bits = rnd.nextInt();
            if (i % 3 == 0) {
                bits = (bits & 0xffff0000) | 0x8000;
            }
            float v = Float.intBitsToFloat(bits);
            f[i] = Float.isNaN(v) ? 1.5f : v;
        }
        short[] out = new short[f.length + 2];
        HalfFloats.toBf16(f, 0, out, 2, f.length);
        for (int i = 0; i < f.length; i++) {
            assertThat(out[2 + i]).as("value %d: %s", i, f[i]).isEqualTo(HalfFloats.toBf16(f[i]));
        }
    }

    @Test
    void backendChoiceNamesWhatIsWrong() {
        assertThat(MatmulBackend.parse("java")).isEqualTo(MatmulBackend.JAVA);
        assertThat(MatmulBackend.parse(" Auto "))
                .isEqualTo(OneDnn.available() ? MatmulBackend.ONEDNN : MatmulBackend.JAVA);
        assertThatThrownBy(() -> MatmulBackend.parse("blas"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("matmul backend must be java, onednn or auto, got 'blas'");
        if (OneDnn.available()) {
            assertThat(MatmulBackend.parse("onednn").describe()).startsWith("onednn (oneDNN ");
        } else {
            assertThatThrownBy(() -> MatmulBackend.parse("onednn"))
                    .hasMessageStartingWith("matmul backend onednn: libdnnl.so.2 could not be used");
        }
    }

    /** Below the smallest native batch, and with the Java backend, products stay Java's: bit for bit the same. */
    @Test
    void smallBatchesAndTheJavaBackendStayJava() {
        SplittableRandom rnd = new SplittableRandom(9);
        int rows = 24, cols = 256, tokens = FloatTensor.NATIVE_MIN_TOKENS - 1;
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rnd.nextGaussian();
        }
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        try (Arena arena = Arena.ofShared()) {
            FloatTensor t = WeightTypesTest.tensor(GgmlType.Q8_0, values, rows, cols, arena, rnd);
            float[] java = new float[tokens * rows], other = new float[tokens * rows];
            t.matmul(x, tokens, java, new MatmulScratch(cols, tokens, MatmulBackend.JAVA));
            MatmulBackend backend = OneDnn.available() ? MatmulBackend.ONEDNN : MatmulBackend.JAVA;
            t.matmul(x, tokens, other, new MatmulScratch(cols, tokens, backend));
            assertThat(other).containsExactly(java);
            assertThat(new MatmulScratch(cols, tokens, MatmulBackend.ONEDNN).batchHalves)
                    .isEmpty();
        }
    }
}
