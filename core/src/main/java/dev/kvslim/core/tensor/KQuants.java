package dev.kvslim.core.tensor;

/**
 * Encodes 256-value super-blocks as GGML's K-quants with the rounding of ggml's reference quantizers
 * ({@code quantize_row_q4_K_ref}, {@code _q5_K_ref}, {@code _q6_K_ref} in ggml-quants.c, written again here from
 * their description): what {@code llama-quantize} writes without an importance matrix, byte for byte. Every step is
 * single-precision float arithmetic in ggml's order (ggml is built as ISO C, so nothing is fused into an FMA), and
 * ggml's {@code nearest_int} rounds halves to even.
 *
 * <p>Q4_K and Q5_K: per 32 values a scale and a minimum found by a weighted least-squares search over 21 (Q4_K) or 16
 * (Q5_K) candidate scales ({@code make_qkx2_quants}), both quantised to 6 bits against the block's largest, then the
 * codes recomputed from the rounded scales. Q6_K: per 16 values a signed scale by an RMSE search over 19 candidates
 * ({@code make_qx_quants}), quantised to 8 bits against the largest in magnitude.
 */
final class KQuants {

    static final int QK = 256;

    private KQuants() {}

    /** ggml's {@code nearest_int}: round to nearest, halves to even, through the float adder (|v| < 2^22). */
    static int nearestInt(float v) {
        return (Float.floatToRawIntBits(v + 12582912f) & 0x007fffff) - 0x00400000;
    }

    /**
     * ggml's Q8_K rounding of an input ({@code quantize_row_q8_K_ref}), the one its K-quant dot products take: the
     * 256 values at {@code x[off]} as codes {@code min(127, nearest_int(-127 / max * x))} into {@code codes[cOff..]},
     * where {@code max} is the value of largest magnitude (sign kept); returns the scale {@code 1 / (-127 / max)}
     * (0 for a block of zeros, whose codes are 0).
     */
    static float q8K(float[] x, int off, byte[] codes, int cOff) {
        float max = Quantizer.signedMax(x, off, QK);
        if (max == 0f) {
            java.util.Arrays.fill(codes, cOff, cOff + QK, (byte) 0);
            return 0f;
        }
        float iscale = -127f / max;
        for (int j = 0; j < QK; j++) {
            codes[cOff + j] = (byte) Math.min(127, nearestInt(iscale * x[off + j]));
        }
        return 1f / iscale;
    }

    /**
     * {@code make_qkx2_quants}: codes {@code 0..nmax} in {@code codes[cOff..]} for {@code x[off..off+n)} with
     * weights {@code w}; returns the scale, and the minimum (negated, as ggml returns it) in {@code min[0]}.
     */
    static float makeQkx2(
            int n,
            int nmax,
            float[] x,
            int off,
            float[] w,
            byte[] codes,
            int cOff,
            float[] theMin,
            byte[] aux,
            float rmin,
            float rdelta,
            int nstep) {
        float min = x[off], max = x[off];
        float sumW = w[0];
        float sumX = sumW * x[off];
        for (int i = 1; i < n; i++) {
            float xi = x[off + i];
            if (xi < min) {
                min = xi;
            }
            if (xi > max) {
                max = xi;
            }
            sumW += w[i];
            sumX += w[i] * xi;
        }
        if (min > 0) {
            min = 0;
        }
        if (max == min) {
            for (int i = 0; i < n; i++) {
                codes[cOff + i] = 0;
            }
            theMin[0] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = Math.clamp(nearestInt(iscale * (x[off + i] - min)), 0, nmax);
            codes[cOff + i] = (byte) l;
            float diff = scale * l + min - x[off + i];
            bestError += w[i] * (diff * diff);
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXl = 0;
            for (int i = 0; i < n; i++) {
                int l = Math.clamp(nearestInt(iscale * (x[off + i] - min)), 0, nmax);
                aux[i] = (byte) l;
                sumL += w[i] * l;
                sumL2 += w[i] * l * l;
                sumXl += w[i] * l * x[off + i];
            }
            float d = sumW * sumL2 - sumL * sumL;
            if (d > 0) {
                float thisScale = (sumW * sumXl - sumX * sumL) / d;
                float thisMin = (sumL2 * sumX - sumL * sumXl) / d;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXl / sumL2;
                }
                float error = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * aux[i] + thisMin - x[off + i];
                    error += w[i] * (diff * diff);
                }
                if (error < bestError) {
                    System.arraycopy(aux, 0, codes, cOff, n);
                    bestError = error;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[0] = -min;
        return scale;
    }

    /**
     * {@code make_qx_quants} with {@code rmse_type} 1 and no importance weights: signed codes {@code -nmax..nmax-1},
     * stored offset by {@code nmax} in {@code codes[cOff..]}; returns the scale.
     */
    static float makeQx(int n, int nmax, float[] x, int off, byte[] codes, int cOff) {
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[off + i]);
            if (ax > amax) {
                amax = ax;
                max = x[off + i];
            }
        }
        if (amax < 1e-15f) {
            for (int i = 0; i < n; i++) {
                codes[cOff + i] = 0;
            }
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; i++) {
            float xi = x[off + i];
            int l = Math.clamp(nearestInt(iscale * xi), -nmax, nmax - 1);
            codes[cOff + i] = (byte) (l + nmax);
            float w = xi * xi;
            sumlx += w * xi * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0f;
        float best = scale * sumlx;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) {
                continue;
            }
            iscale = -(nmax + 0.1f * is) / max;
            sumlx = 0;
            suml2 = 0;
            for (int i = 0; i < n; i++) {
                float xi = x[off + i];
                int l = Math.clamp(nearestInt(iscale * xi), -nmax, nmax - 1);
                float w = xi * xi;
                sumlx += w * xi * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                for (int i = 0; i < n; i++) {
                    int l = Math.clamp(nearestInt(iscale * x[off + i]), -nmax, nmax - 1);
                    codes[cOff + i] = (byte) (nmax + l);
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    /**
     * The eight 6-bit scale and minimum codes of a Q4_K / Q5_K block from its float scales and minimums, packed as
     * ggml packs them into 12 bytes at {@code out[at..]}; writes the half-float {@code d} and {@code dmin} at
     * {@code out[at - 4 ..]} and returns them (as floats) in {@code dm}.
     */
    private static void packScales(float[] scales, float[] mins, byte[] out, int at, float[] dm) {
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++) {
            maxScale = Math.max(maxScale, scales[j]);
            maxMin = Math.max(maxMin, mins[j]);
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        for (int j = 0; j < 8; j++) {
            int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF);
            int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
            if (j < 4) {
                out[at + j] = (byte) ls;
                out[at + j + 4] = (byte) lm;
            } else {
                out[at + j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
                out[at + j - 4] |= (byte) ((ls >> 4) << 6);
                out[at + j] |= (byte) ((lm >> 4) << 6);
            }
        }
        short d = Float.floatToFloat16(maxScale / 63f), dmin = Float.floatToFloat16(maxMin / 63f);
        LittleEndian.putI16(out, at - 4, d);
        LittleEndian.putI16(out, at - 2, dmin);
        dm[0] = Float.float16ToFloat(d);
        dm[1] = Float.float16ToFloat(dmin);
    }

    /** ggml's {@code get_scale_min_k4}: the 6-bit scale (index 0) and minimum (index 1) codes of sub-block j. */
    private static int scaleCode(byte[] q, int at, int j, boolean min) {
        if (j < 4) {
            return (q[at + j + (min ? 4 : 0)] & 63);
        }
        return min
                ? ((q[at + j + 4] & 0xFF) >> 4) | (((q[at + j] & 0xFF) >> 6) << 4)
                : (q[at + j + 4] & 0xF) | (((q[at + j - 4] & 0xFF) >> 6) << 4);
    }

    /**
     * The codes {@code 0..nmax} of one Q4_K / Q5_K super-block at {@code x[off..off+256)} into {@code codes}, with its
     * header (d, dmin, 12 scale bytes) written at {@code out[at..at+16)}.
     */
    private static void affineSuperBlock(
            float[] x, int off, int nmax, float rmin, int nstep, byte[] out, int at, byte[] codes) {
        float[] scales = new float[8], mins = new float[8], w = new float[32], theMin = new float[1], dm = new float[2];
        byte[] aux = new byte[32];
        for (int j = 0; j < 8; j++) {
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) {
                sumX2 += x[off + 32 * j + l] * x[off + 32 * j + l];
            }
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) {
                w[l] = avX + Math.abs(x[off + 32 * j + l]);
            }
            scales[j] = makeQkx2(32, nmax, x, off + 32 * j, w, codes, 32 * j, theMin, aux, rmin, 0.1f, nstep);
            mins[j] = theMin[0];
        }
        java.util.Arrays.fill(out, at, at + 16, (byte) 0);
        packScales(scales, mins, out, at + 4, dm);
        for (int j = 0; j < 8; j++) {
            float d = dm[0] * scaleCode(out, at + 4, j, false);
            if (d == 0) {
                continue;
            }
            float m = dm[1] * scaleCode(out, at + 4, j, true);
            for (int i = 0; i < 32; i++) {
                codes[32 * j + i] = (byte) Math.clamp(nearestInt((x[off + 32 * j + i] + m) / d), 0, nmax);
            }
        }
    }

    /** Q4_K: 144 bytes (d, dmin, 12 scale bytes, 128 bytes of nibbles) for the 256 values at {@code x[off..]}. */
    static void q4K(float[] x, int off, byte[] out, int at) {
        byte[] codes = new byte[QK];
        affineSuperBlock(x, off, 15, -1f, 20, out, at, codes);
        int q = at + 16;
        for (int j = 0; j < QK; j += 64) {
            for (int l = 0; l < 32; l++) {
                out[q + l] = (byte) (codes[j + l] | (codes[j + l + 32] << 4));
            }
            q += 32;
        }
    }

    /** Q5_K: 176 bytes (d, dmin, 12 scale bytes, 32 bytes of fifth bits, 128 bytes of nibbles). */
    static void q5K(float[] x, int off, byte[] out, int at) {
        byte[] codes = new byte[QK];
        affineSuperBlock(x, off, 31, -0.5f, 15, out, at, codes);
        int qh = at + 16, ql = at + 48;
        java.util.Arrays.fill(out, qh, qh + 32, (byte) 0);
        int m1 = 1, m2 = 2;
        for (int n = 0; n < QK; n += 64) {
            for (int j = 0; j < 32; j++) {
                int l1 = codes[n + j], l2 = codes[n + j + 32];
                if (l1 > 15) {
                    l1 -= 16;
                    out[qh + j] |= (byte) m1;
                }
                if (l2 > 15) {
                    l2 -= 16;
                    out[qh + j] |= (byte) m2;
                }
                out[ql + j] = (byte) (l1 | (l2 << 4));
            }
            m1 <<= 2;
            m2 <<= 2;
            ql += 32;
        }
    }

    /** Q6_K: 210 bytes (128 low-nibble bytes, 64 high-bit bytes, 16 signed scales, half-float d). */
    static void q6K(float[] x, int off, byte[] out, int at) {
        byte[] codes = new byte[QK];
        float[] scales = new float[16];
        float maxScale = 0, maxAbs = 0;
        for (int ib = 0; ib < 16; ib++) {
            float scale = makeQx(16, 32, x, off + 16 * ib, codes, 16 * ib);
            scales[ib] = scale;
            if (Math.abs(scale) > maxAbs) {
                maxAbs = Math.abs(scale);
                maxScale = scale;
            }
        }
        java.util.Arrays.fill(out, at, at + 210, (byte) 0);
        if (maxAbs < 1e-15f) {
            return; // all zero: d = 0 and zero codes, as ggml writes it
        }
        float iscale = -128f / maxScale;
        short dBits = Float.floatToFloat16(1 / iscale);
        LittleEndian.putI16(out, at + 208, dBits);
        float d16 = Float.float16ToFloat(dBits);
        for (int ib = 0; ib < 16; ib++) {
            out[at + 192 + ib] = (byte) Math.min(127, nearestInt(iscale * scales[ib]));
        }
        for (int j = 0; j < 16; j++) {
            float d = d16 * out[at + 192 + j];
            if (d == 0) {
                continue;
            }
            for (int i = 0; i < 16; i++) {
                int l = Math.clamp(nearestInt(x[off + 16 * j + i] / d), -32, 31);
                codes[16 * j + i] = (byte) (l + 32);
            }
        }
        int ql = at, qh = at + 128;
        for (int j = 0; j < QK; j += 128) {
            for (int l = 0; l < 32; l++) {
                int q1 = codes[j + l] & 0xF, q2 = codes[j + l + 32] & 0xF;
                int q3 = codes[j + l + 64] & 0xF, q4 = codes[j + l + 96] & 0xF;
                out[ql + l] = (byte) (q1 | (q3 << 4));
                out[ql + l + 32] = (byte) (q2 | (q4 << 4));
                out[qh + l] = (byte) ((codes[j + l] >> 4)
                        | ((codes[j + l + 32] >> 4) << 2)
                        | ((codes[j + l + 64] >> 4) << 4)
                        | ((codes[j + l + 96] >> 4) << 6));
            }
            ql += 64;
            qh += 32;
        }
    }
}
