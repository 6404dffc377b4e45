package dev.kvslim.core.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The two 16-bit float formats, IEEE half (F16) and bfloat16 (BF16): rounding floats to them and widening them back,
 * one value at a time or a vector at a time. Written once for the weight tensors, the quantizer and the KV cache.
 * The Vector API of Java 25 has no half-float conversion, so widening is done with integer lane operations.
 */
public final class HalfFloats {

    /** Shorts with as many lanes as the preferred float species: one load widens to one float vector. */
    public static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(Kernels.F.vectorBitSize() / 2));

    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, Kernels.F.vectorShape());
    private static final VectorSpecies<Float> FLOATS = Kernels.F;

    private HalfFloats() {}

    /** The F16 nearest to {@code f}, ties to even ({@link Float#floatToFloat16}); beyond ±65504 it is ±inf. */
    public static short toF16(float f) {
        return Float.floatToFloat16(f);
    }

    /** The BF16 nearest to {@code f}, ties to even (as PyTorch's {@code .to(torch.bfloat16)}); NaN stays a quiet NaN. */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    /**
     * {@code dst[dOff + i] = toBf16(src[off + i])} for i in [0, n), a vector at a time (NaN, which no activation
     * worth multiplying holds, is not kept quiet here).
     */
    public static void toBf16(float[] src, int off, short[] dst, int dOff, int n) {
        int i = 0;
        for (int bound = Kernels.F.loopBound(n); i < bound; i += Kernels.F.length()) {
            IntVector bits = FloatVector.fromArray(Kernels.F, src, off + i).reinterpretAsInts();
            IntVector odd = bits.lanewise(VectorOperators.LSHR, 16).and(1);
            IntVector rounded = bits.add(odd).add(0x7fff).lanewise(VectorOperators.LSHR, 16);
            ((ShortVector) rounded.convertShape(VectorOperators.I2S, SHORTS, 0)).intoArray(dst, dOff + i);
        }
        for (; i < n; i++) {
            dst[dOff + i] = toBf16(src[off + i]);
        }
    }

    /** The float a BF16 holds: its bits are the upper half of the float's. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /**
     * Widens half floats to floats in vector registers with integer lane operations and no arithmetic on a
     * subnormal float: the exponent and mantissa moved up by 13 bits and the exponent rebiased by an integer add
     * (112), exact for normal halves; a subnormal half (exponent 0), given the exponent of 2^-14 instead, is
     * 2^-14 too large and has it subtracted, exactly; then the sign. (Scaling the moved bits by 2^112 took four
     * operations instead of these eight, but a subnormal half became a subnormal float operand, which the CPU
     * handles slowly: on an AMD EPYC, F16 weights of standard deviation 0.02, a quarter of a percent of them
     * subnormal, were read at half the speed.) Inf and NaN, which no usable weight or cached key holds, become
     * large finite numbers: ±65536 and up.
     */
    public static FloatVector widenF16(ShortVector h) {
        IntVector bits = (IntVector) h.convertShape(VectorOperators.S2I, INTS, 0);
        IntVector magnitude = bits.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);
        VectorMask<Integer> subnormal = magnitude.compare(VectorOperators.LT, 0x00800000);
        FloatVector unsigned = magnitude
                .add(112 << 23)
                .add(1 << 23, subnormal)
                .reinterpretAsFloats()
                .sub(0x1p-14f, subnormal.cast(FLOATS));
        // the sign-extended half's bit 31 is its sign
        return unsigned.reinterpretAsInts().or(bits.and(0x80000000)).reinterpretAsFloats();
    }

    /**
     * {@link #widenF16} in four operations (the bits moved up by 13 and scaled by 2^112, which rebiases the
     * exponent), exact likewise, but a subnormal half is a subnormal operand of the scaling, which the CPU handles
     * slowly: for block scales, which are normal numbers, not for weights or cached values.
     */
    public static FloatVector widenF16Scales(ShortVector h) {
        // sign-extended and moved up by 13, the half's sign lands in bit 31 and copies of it in bits 28-30, which
        // the mask clears: a float with the half's sign, exponent and mantissa, which the scaling rebiases
        return ((IntVector) h.convertShape(VectorOperators.S2I, INTS, 0))
                .lanewise(VectorOperators.LSHL, 13)
                .and(0x8FFFFFFF)
                .reinterpretAsFloats()
                .mul(0x1p112f);
    }

    /** Widens bfloat16 to floats in vector registers, exactly. */
    public static FloatVector widenBf16(ShortVector h) {
        // sign extension fills the upper 16 bits, which the shift pushes out again
        return ((IntVector) h.convertShape(VectorOperators.S2I, INTS, 0))
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }
}
