package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The input of the integer kernels ({@link Q8_0Tensor}, {@link Q4_0Tensor}, {@link Q4_KTensor}, {@link Q6_KTensor}
 * with 16-lane vectors): x rounded to 8-bit codes as llama.cpp rounds a matrix product's input before its integer dot
 * products (Q8_0 blocks of 32 for Q8_0 and Q4_0, Q8_K blocks of 256 for the K-quants), each code multiplied by a
 * weight code in 16-bit lanes. The codes go into the prepared float array two to a slot, in the order the kernel
 * reads its weight codes; a kernel loads 16 slots as one vector and reinterprets it as 32 shorts (or 16 ints), so
 * those bits are never read as floats. Scales and sums go into ordinary float slots beside them.
 *
 * <p>What the rounding costs: each product is {@code sum(w * x')} with {@code |x' - x|} about {@code d / 2} at most
 * per value, d the block's input scale ({@code max|x| / 127}; a Q8_0 block's scale is also rounded to a half float,
 * which adds up to 127 times that rounding), so the sum moves by about {@code sum(|w|) * d / 2} at most: the error
 * llama.cpp's results carry too.
 */
final class Int8Input {

    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;

    private Int8Input() {}

    /**
     * llama.cpp's rounding of an input block of 32 for its Q8_0 dot products (ggml-cpu's x86 {@code
     * quantize_row_q8_0}, which the Q4_0 and Q8_0 kernels take): codes {@code rint(x * (127 / max|x|))}, halves to
     * even, into {@code codes[cOff..]}; returns the scale {@code max|x| / 127} as the half float the block stores
     * (0 for a block of zeros).
     */
    static float q8_0(float[] x, int off, byte[] codes, int cOff) {
        float amax = 0f;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[off + j]));
        }
        float id = amax != 0f ? 127f / amax : 0f;
        for (int j = 0; j < 32; j++) {
            codes[cOff + j] = (byte) Math.rint(x[off + j] * id);
        }
        return Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
    }

    /** Slots per block of 256 in {@link #q8K}: 128 of codes (256 shorts), 16 of sums, the input scale, room. */
    static final int K_BLOCK_SLOTS = 160;

    /**
     * {@code x[xOff .. xOff + cols)} for a K-quant kernel, {@value #K_BLOCK_SLOTS} slots per block of 256: the block
     * rounded to codes as llama.cpp's Q8_K ({@link KQuants#q8K}), code {@code order[i]} as the i-th short of slots
     * 0-127; the sums of each {@code sumEvery} codes (floats) in the slots just below 144 (from 136 for sums of 32,
     * from 128 for sums of 16); the input scale in slot 144.
     */
    static float[] q8K(float[] x, int xOff, int cols, int[] order, int sumEvery) {
        int blocks = cols / KQuants.QK;
        float[] p = new float[blocks * K_BLOCK_SLOTS];
        MemorySegment slots = MemorySegment.ofArray(p);
        byte[] codes = new byte[KQuants.QK];
        int sums = KQuants.QK / sumEvery;
        for (int b = 0; b < blocks; b++) {
            int o = K_BLOCK_SLOTS * b;
            float d = KQuants.q8K(x, xOff + KQuants.QK * b, codes, 0);
            putCodes(slots, o, codes, 0, order);
            for (int j = 0; j < sums; j++) {
                int sum = 0;
                for (int i = 0; i < sumEvery; i++) {
                    sum += codes[sumEvery * j + i];
                }
                p[o + 144 - sums + j] = sum;
            }
            p[o + 144] = d;
        }
        return p;
    }

    /**
     * Writes {@code codes[cOff + order[i]]} as the i-th short of the slots from {@code slot} of the array
     * {@code p} views ({@code order.length / 2} slots).
     */
    static void putCodes(MemorySegment p, int slot, byte[] codes, int cOff, int[] order) {
        long at = 4L * slot;
        for (int i = 0; i < order.length; i++) {
            p.set(SHORT, at + 2L * i, codes[cOff + order[i]]);
        }
    }

    /** Writes {@code v} as the bits of slot {@code slot} (a kernel reads it as an int lane). */
    static void putInt(MemorySegment p, int slot, int v) {
        p.set(INT, 4L * slot, v);
    }
}
