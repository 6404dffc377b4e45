package dev.kvslim.core.kv;

import static dev.kvslim.core.kv.PolicyHarness.gaussian;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.Kernels;
import dev.kvslim.core.tensor.Quantizer;
import dev.kvslim.core.tensor.Tensors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The KV element types: what a stored value reads back as (hand-worked roundings, subnormals, signed zeros,
 * infinities, ties), attention over 16-bit blocks against a double-precision reference built from the rounded
 * keys and values, and the byte accounting (the same budget holds twice the tokens at 2 bytes an element).
 */
class KvTypeTest {

    private static LlamaConfig config(int headSize, int kvHeads, int group) {
        return LlamaConfig.builder()
                .dim(headSize * kvHeads * group)
                .hiddenDim(16)
                .layers(1)
                .heads(kvHeads * group)
                .kvHeads(kvHeads)
                .headSize(headSize)
                .vocabSize(16)
                .contextLength(1 << 14)
                .build();
    }

    /** Stores one token whose key and value both hold {@code x} (a zero added if odd) and reads both back. */
    private static float[][] storeAndReadBack(KvType type, float[] x) {
        int hs = x.length + x.length % 2;
        BlockPool pool = new BlockPool(hs, Kernels.lanes(), 1L << 20, type);
        PagedKvCache cache = new PagedKvCache(config(hs, 1, 1).kvShape(), pool, 4);
        cache.store(0, 0, 1, Arrays.copyOf(x, hs), Arrays.copyOf(x, hs), null);
        HeadStore head = PolicyHarness.head(cache, 0, 0);
        float[] k = new float[x.length], v = new float[x.length];
        for (int c = 0; c < x.length; c++) {
            k[c] = head.key(0, c);
            v[c] = head.value(0, c);
        }
        return new float[][] {k, v};
    }

    private static void assertReadsBack(KvType type, float[] stored, float[] expected) {
        float[][] kv = storeAndReadBack(type, stored);
        for (float[] got : kv) {
            for (int i = 0; i < stored.length; i++) {
                // bit patterns, so that -0 and +0 differ
                assertThat(Float.floatToIntBits(got[i]))
                        .as("%s of %s (%a)", type, stored[i], stored[i])
                        .isEqualTo(Float.floatToIntBits(expected[i]));
            }
        }
    }

    @Test
    void f16StoresTheNearestHalfFloatTiesToEven() {
        float s = 0x1p-24f; // the smallest F16 subnormal
        float[][] cases = {
            {1f, 1f},
            {-2.5f, -2.5f},
            {0.1f, 0.0999755859375f}, // 1.6 x 2^-4: mantissa 614.4/1024 -> 614
            {1 + 0x1p-11f, 1f}, // halfway between 1 and 1 + 2^-10: to the even one
            {1 + 3 * 0x1p-11f, 1 + 0x1p-9f}, // halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even)
            {1 + 0x1p-11f + 0x1p-20f, 1 + 0x1p-10f}, // just above halfway
            {65504f, 65504f}, // the largest F16
            {65519f, 65504f}, // below halfway to 65536
            {65520f, Float.POSITIVE_INFINITY}, // halfway to 2^16 rounds to even, which overflows
            {-1e6f, Float.NEGATIVE_INFINITY},
            {s, s},
            {0.5f * s, 0f}, // halfway between 0 and the smallest subnormal: to 0 (even)
            {0.75f * s, s},
            {1.5f * s, 2 * s}, // halfway between 1 and 2 subnormal steps: to 2
            {2.5f * s, 2 * s}, // halfway between 2 and 3: to 2
            {-0.25f * s, -0f},
            {0x1p-14f * 1.5f, 0x1p-14f * 1.5f}, // a normal just above the subnormals
            {0f, 0f},
            {-0f, -0f},
            {Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY},
            {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY},
        };
        check(KvType.F16, cases);
    }

    @Test
    void bf16StoresTheNearestBfloat16TiesToEven() {
        float[][] cases = {
            {1f, 1f},
            {-3f, -3f},
            {0.1f, 0.10009765625f}, // 0x3DCCCCCD: the lower half 0xCCCD is above halfway: 0x3DCD
            {1 + 0x1p-8f, 1f}, // halfway between 1 and 1 + 2^-7: to the even one
            {1 + 3 * 0x1p-8f, 1 + 0x1p-6f}, // halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even)
            {1 + 0x1p-8f + 0x1p-20f, 1 + 0x1p-7f}, // just above halfway
            {-(1 + 0x1p-8f + 0x1p-20f), -(1 + 0x1p-7f)},
            {Float.MAX_VALUE, Float.POSITIVE_INFINITY}, // 0x7F7FFFFF rounds up past 0x7F7F
            {Float.intBitsToFloat(0x7F7F7FFF), Float.intBitsToFloat(0x7F7F0000)}, // the largest BF16
            {Float.MIN_VALUE, 0f}, // 0x00000001: the lower half is below halfway
            {Float.intBitsToFloat(0x00008000), 0f}, // halfway between 0 and 0x0001: to 0 (even)
            {Float.intBitsToFloat(0x00018000), Float.intBitsToFloat(0x00020000)}, // halfway, 0x0001 odd: up
            {Float.intBitsToFloat(0x00010000), Float.intBitsToFloat(0x00010000)}, // a BF16 subnormal, exact
            {-Float.MIN_VALUE, -0f},
            {1e-39f, Float.intBitsToFloat(0x000B0000)}, // 1e-39 = 0x000AE398: above halfway to 0x000B
            {0f, 0f},
            {-0f, -0f},
            {Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY},
            {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY},
        };
        check(KvType.BF16, cases);
    }

    private static void check(KvType type, float[][] cases) {
        float[] stored = new float[cases.length], expected = new float[cases.length];
        for (int i = 0; i < cases.length; i++) {
            stored[i] = cases[i][0];
            expected[i] = cases[i][1];
            // the independent rounding the other tests use agrees with the hand-worked values
            assertThat(Float.floatToIntBits(KvRounding.round(type, stored[i])))
                    .as("%s of %a", type, stored[i])
                    .isEqualTo(Float.floatToIntBits(expected[i]));
        }
        assertReadsBack(type, stored, expected);
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16"})
    void nanStaysNan(KvType type) {
        float[][] kv = storeAndReadBack(type, new float[] {Float.NaN, -Float.NaN, 1f});
        assertThat(kv[0][0]).isNaN();
        assertThat(kv[1][1]).isNaN();
        assertThat(kv[0][2]).isEqualTo(1f);
    }

    @Test
    void f32StoresExactly() {
        float[] x = {0.1f, Float.MIN_VALUE, -0f, Float.MAX_VALUE, 1 + 0x1p-23f};
        assertReadsBack(KvType.F32, x, x);
    }

    static Stream<Arguments> shapes() {
        List<Arguments> all = new ArrayList<>();
        int lanes = Kernels.lanes();
        for (KvType type : KvType.values()) {
            for (int blockVectors : new int[] {1, 2, 4}) {
                for (int headSize : new int[] {8, 24, 64}) {
                    for (int group : new int[] {1, 2, 4}) {
                        all.add(Arguments.of(type, blockVectors * lanes, headSize, group));
                    }
                }
            }
        }
        return all.stream();
    }

    /**
     * Random queries, keys and values over lengths that end inside a block, on a block boundary and past it,
     * prefilled in chunks and then decoded: every output equals softmax(q . K / sqrt(d)) V computed in double from
     * the keys and values rounded to the type.
     */
    @ParameterizedTest(name = "{0} block {1} head size {2} group {3}")
    @MethodSource("shapes")
    void attentionMatchesADoubleReferenceOverTheRoundedKeysAndValues(
            KvType type, int blockSize, int headSize, int group) {
        SplittableRandom rnd = new SplittableRandom(blockSize * 1000L + headSize * 10L + group);
        int kvHeads = 2, tokens = 3 * blockSize + 5;
        LlamaConfig c = config(headSize, kvHeads, group);
        BlockPool pool = new BlockPool(headSize, blockSize, 1L << 24, type);
        PagedKvCache cache = new PagedKvCache(c.kvShape(), pool, tokens);
        float[] q = gaussian(rnd, tokens * c.qDim()), k = gaussian(rnd, tokens * c.kvDim());
        float[] v = gaussian(rnd, tokens * c.kvDim());
        float[] rk = KvRounding.round(type, k, headSize), rv = KvRounding.round(type, v, headSize);
        float[] scratch = new float[cache.scratchSize()];
        float[] out = new float[c.qDim()];
        int prefill = blockSize - 1;
        for (int pos0 = 0, n; pos0 < tokens; pos0 += n) {
            n = pos0 < prefill ? prefill : 1;
            cache.store(
                    0,
                    pos0,
                    n,
                    Arrays.copyOfRange(k, pos0 * c.kvDim(), (pos0 + n) * c.kvDim()),
                    Arrays.copyOfRange(v, pos0 * c.kvDim(), (pos0 + n) * c.kvDim()),
                    null);
            for (int t = pos0; t < pos0 + n; t++) {
                for (int h = 0; h < kvHeads; h++) {
                    cache.attend(
                            0, t, h, q, t * c.qDim() + h * group * headSize, group, out, h * group * headSize, scratch);
                }
                for (int head = 0; head < c.heads(); head++) {
                    double[] expected = reference(c, q, t * c.qDim() + head * headSize, rk, rv, head / group, t);
                    for (int i = 0; i < headSize; i++) {
                        assertThat((double) out[head * headSize + i])
                                .as("query %d head %d channel %d", t, head, i)
                                .isCloseTo(expected[i], within(1e-5 * Math.max(1, Math.abs(expected[i]))));
                    }
                }
            }
        }
        assertThat(cache.liveTokens(0, 1)).isEqualTo(tokens);
        assertThat(cache.bytesUsed()).isEqualTo(kvHeads * 4L * BlockPool.blockBytes(headSize, blockSize, type));
    }

    /** softmax(q . K[0..last] / sqrt(d)) V for KV head {@code h}, in double. */
    private static double[] reference(LlamaConfig c, float[] q, int qOff, float[] k, float[] v, int h, int last) {
        int hs = c.headSize();
        double[] s = new double[last + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int p = 0; p <= last; p++) {
            for (int i = 0; i < hs; i++) {
                s[p] += (double) q[qOff + i] * k[p * c.kvDim() + h * hs + i];
            }
            s[p] /= Math.sqrt(hs);
            max = Math.max(max, s[p]);
        }
        double sum = 0;
        for (int p = 0; p <= last; p++) {
            s[p] = Math.exp(s[p] - max);
            sum += s[p];
        }
        double[] out = new double[hs];
        for (int p = 0; p <= last; p++) {
            for (int i = 0; i < hs; i++) {
                out[i] += s[p] / sum * v[p * c.kvDim() + h * hs + i];
            }
        }
        return out;
    }

    /** Tokens a cache of {@code type} takes before a budget of ten F32 blocks per head runs out. */
    private static int tokensThatFit(KvType type) {
        int hs = 16, blockSize = Kernels.lanes();
        LlamaConfig c = config(hs, 2, 2);
        long budget = 2 * 10 * BlockPool.blockBytes(hs, blockSize, KvType.F32);
        BlockPool pool = new BlockPool(hs, blockSize, budget, type);
        PagedKvCache cache = new PagedKvCache(c.kvShape(), pool, 1 << 12);
        float[] kv = new float[c.kvDim()];
        int stored = 0;
        try {
            while (true) {
                cache.reserve(1);
                cache.store(0, stored, 1, kv, kv, null);
                stored++;
            }
        } catch (KvCacheFullException full) {
            assertThat(pool.usedBytes()).isEqualTo(budget);
            assertThat(cache.bytesUsed()).isEqualTo(budget);
            assertThat(cache.liveBytes()).isEqualTo(2L * stored * 2 * type.vectorBytes(hs));
        }
        return stored;
    }

    /**
     * Bytes of one head's key: 4 or 2 an element; Q8_0 a byte an element and a 2-byte scale per 32 (ggml's 34-byte
     * block), Q4_0 half a byte and the scale (18 bytes per 32); heads not a multiple of 32 are one group.
     */
    @Test
    void vectorBytesCountCodesAndScales() {
        assertThat(KvType.F32.vectorBytes(128)).isEqualTo(512);
        assertThat(KvType.F16.vectorBytes(128)).isEqualTo(256);
        assertThat(KvType.BF16.vectorBytes(64)).isEqualTo(128);
        assertThat(KvType.Q8_0.vectorBytes(128)).isEqualTo(4 * 34);
        assertThat(KvType.Q4_0.vectorBytes(128)).isEqualTo(4 * 18);
        assertThat(KvType.Q8_0.vectorBytes(32)).isEqualTo(34);
        assertThat(KvType.Q8_0.vectorBytes(8)).isEqualTo(10);
        assertThat(KvType.Q4_0.vectorBytes(8)).isEqualTo(6);
        // Qwen3-8B's 36 layers x 8 KV heads of 128: 144 KiB a token in BF16, 76.5 KiB in Q8_0, 40.5 KiB in Q4_0
        long layersHeads = 36 * 8;
        assertThat(2 * layersHeads * KvType.BF16.vectorBytes(128)).isEqualTo(144 * 1024);
        assertThat(2 * layersHeads * KvType.Q8_0.vectorBytes(128)).isEqualTo(78_336);
        assertThat(2 * layersHeads * KvType.Q4_0.vectorBytes(128)).isEqualTo(41_472);
        assertThatThrownBy(() -> new BlockPool(7, 16, 1L << 20, KvType.Q4_0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("even head size");
    }

    /**
     * Hand-worked Q8_0 roundings (ggml's quantize_row_q8_0_ref): the scale is max|x| / 127 and each code
     * round(x / scale) with halves away from zero. With max|x| = 127 the scale is 1, so values read back as whole
     * numbers; the second group's max|x| of 63.5 gives a scale of 0.5.
     */
    @Test
    void q8StoresGgmlsRounding() {
        float[] x = new float[64], expected = new float[64];
        float[][] first = {{127f, 127f}, {0.5f, 1f}, {-0.5f, -1f}, {2.5f, 3f}, {-2.5f, -3f}, {1.49f, 1f}, {0f, 0f}};
        for (int i = 0; i < first.length; i++) {
            x[i] = first[i][0];
            expected[i] = first[i][1];
        }
        float[][] second = {{-63.5f, -63.5f}, {0.25f, 0.5f}, {-0.25f, -0.5f}, {0.2f, 0f}, {10.3f, 10.5f}};
        for (int i = 0; i < second.length; i++) {
            x[32 + i] = second[i][0];
            expected[32 + i] = second[i][1];
        }
        assertReadsBack(KvType.Q8_0, x, expected);
        assertThat(KvRounding.round(KvType.Q8_0, x, 64)).containsExactly(expected);
    }

    /**
     * Hand-worked Q4_0 roundings (ggml's quantize_row_q4_0_ref): the scale is max / -8 where max is the value of
     * largest magnitude with its sign, codes min(15, trunc(x / scale + 8.5)), value scale * (code - 8). A negative
     * max of -8 gives scale 1 (codes 0..15 read -8..7); a positive max of 8 gives scale -1, so the max reads back
     * exactly and -8 is clipped to -7.
     */
    @Test
    void q4StoresGgmlsRounding() {
        float[] x = new float[64], expected = new float[64];
        float[][] first = {{-8f, -8f}, {7f, 7f}, {7.4f, 7f}, {7.6f, 7f}, {0.5f, 1f}, {-0.5f, 0f}, {-0.6f, -1f}};
        for (int i = 0; i < first.length; i++) {
            x[i] = first[i][0];
            expected[i] = first[i][1];
        }
        float[][] second = {{8f, 8f}, {-8f, -7f}, {0.4f, -0f}, {-0.5f, -1f}, {3f, 3f}};
        Arrays.fill(expected, 32, 64, -0f); // a negative scale times code 8: zeros read back as -0
        for (int i = 0; i < second.length; i++) {
            x[32 + i] = second[i][0];
            expected[32 + i] = second[i][1];
        }
        // channel 16 shares byte 0 with channel 0 (its high nibble): put a value there too
        x[16] = 5.2f;
        expected[16] = 5f;
        assertReadsBack(KvType.Q4_0, x, expected);
        assertThat(KvRounding.round(KvType.Q4_0, x, 64)).containsExactly(expected);
    }

    /**
     * A group of 32 channels stores exactly the codes and scale the weight quantizer writes for a GGML block (whose
     * bytes are checked against llama.cpp's in the quantizer's tests), for keys and values alike.
     */
    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0"})
    void quantisedGroupsAgreeWithTheGgmlBlockQuantizer(KvType type) {
        SplittableRandom rnd = new SplittableRandom(7);
        float[] x = gaussian(rnd, 96);
        GgmlType ggml = type == KvType.Q8_0 ? GgmlType.Q8_0 : GgmlType.Q4_0;
        float[] viaGgml;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = Quantizer.encode(Tensors.f32(arena, x, 1, 96), ggml, arena);
            FloatTensor t = Tensors.of(ggml, bytes, 1, 96);
            viaGgml = new float[96];
            t.dequantizeRow(0, viaGgml, 0);
        }
        assertReadsBack(type, x, viaGgml);
    }

    @Test
    void theSameByteBudgetHoldsTwiceTheTokensAtTwoBytesAnElement() {
        int f32 = tokensThatFit(KvType.F32);
        assertThat(f32).isEqualTo(10 * Kernels.lanes());
        assertThat(tokensThatFit(KvType.F16)).isEqualTo(2 * f32);
        assertThat(tokensThatFit(KvType.BF16)).isEqualTo(2 * f32);
        assertThat(new BlockPool(64, 256, 1L << 20, KvType.F16).capacityBlocks())
                .isEqualTo(2 * new BlockPool(64, 256, 1L << 20).capacityBlocks())
                .isEqualTo(16);
    }

    @Test
    void typesParseByNameAndUnknownOnesAreNamed() {
        assertThat(KvType.parse("f16")).isEqualTo(KvType.F16);
        assertThat(KvType.parse("BF16")).isEqualTo(KvType.BF16);
        assertThat(KvType.parse("f32")).isEqualTo(KvType.F32);
        assertThat(KvType.parse("Q8_0")).isEqualTo(KvType.Q8_0);
        assertThat(KvType.parse("q4_0")).isEqualTo(KvType.Q4_0);
        assertThatThrownBy(() -> KvType.parse("q4"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'q4'")
                .hasMessageContaining("f32, f16, bf16, q8_0, q4_0");
        assertThatThrownBy(() -> new BlockPool(64, 256, 1000, KvType.F16))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("65536 bytes (f16)");
    }
}
