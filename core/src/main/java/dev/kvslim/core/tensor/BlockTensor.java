package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * A tensor stored in GGML blocks: each {@link GgmlType#blockSize} consecutive values of a row are one block of
 * {@link GgmlType#blockBytes} bytes, decoded by {@link #decodeBlock}. Element access, row expansion and the dot
 * product are written here once over that decoder; a type overrides {@link #dot} or {@link #dotRows} where a
 * vectorised kernel over its packed bits pays (the decoders are the reference those kernels are tested against).
 */
public abstract class BlockTensor extends FloatTensor {

    static final VectorSpecies<Float> F = Kernels.F;
    /** Bytes widened to one float vector; none when float vectors are narrower than 64 bits of bytes. */
    static final VectorSpecies<Byte> B =
            F.length() >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8)) : null;

    /** Per thread: one row's worth of decoded blocks, reused by {@link #dot}. */
    private static final ThreadLocal<float[]> DECODED = ThreadLocal.withInitial(() -> new float[0]);

    /** The tensor's bytes in GGML's block layout, copied onto the heap ({@link Tensors#onHeap}). */
    protected final byte[] raw;

    protected final int block;
    protected final int blockBytes;
    protected final int blocksPerRow;

    protected BlockTensor(GgmlType type, MemorySegment data, long rows, int cols) {
        super(rows, cols);
        Tensors.requireBlockRows(cols, type.blockSize, type.name());
        this.raw = Tensors.onHeap(data, type.bytesFor(rows * cols), type.name());
        this.block = type.blockSize;
        this.blockBytes = type.blockBytes;
        this.blocksPerRow = cols / type.blockSize;
    }

    /**
     * Writes the {@code block} values of the block at byte {@code at} to {@code out[off ..)}: the reference
     * decoder, one value at a time, written as ggml's {@code dequantize_row_*} reads.
     */
    protected abstract void decodeBlock(int at, float[] out, int off);

    /**
     * The same values as {@link #decodeBlock}, computed with vectors where a type has a vectorised decoder (the
     * row expansion and dot product use this one; tests hold it to the reference).
     */
    protected void decodeBlockFast(int at, float[] out, int off) {
        decodeBlock(at, out, off);
    }

    @Override
    public final MemorySegment segment() {
        return MemorySegment.ofArray(raw);
    }

    /** Byte offset of block {@code b} of row {@code row}. */
    protected final int blockAt(long row, int b) {
        return ((int) row * blocksPerRow + b) * blockBytes;
    }

    @Override
    public float get(long index) {
        float[] values = new float[block];
        decodeBlock((int) (index / block) * blockBytes, values, 0);
        return values[(int) (index % block)];
    }

    @Override
    public void dequantizeRow(long row, float[] out, int off) {
        int at = blockAt(row, 0);
        for (int b = 0; b < blocksPerRow; b++, at += blockBytes) {
            decodeBlockFast(at, out, off + b * block);
        }
    }

    /**
     * The row dotted with {@code x}: through {@link #dotPrepared} where this type {@linkplain #prepares prepares}
     * its input, otherwise the row decoded into this thread's buffer, then one vectorised dot product.
     */
    @Override
    public float dot(long row, float[] x, int xOff) {
        if (prepares()) {
            return dotPrepared(row, prepareInput(x, xOff));
        }
        float[] decoded = DECODED.get();
        if (decoded.length < cols) {
            decoded = new float[cols];
            DECODED.set(decoded);
        }
        dequantizeRow(row, decoded, 0);
        return Kernels.dot(decoded, 0, x, xOff, cols);
    }

    /** Lane i of 16 takes value 4i + k of two vectors (lanes 8-15: 4(i-8) + k), for each k of 4 ({@link #interleave}). */
    private static final VectorShuffle<Float>[] STRIDE_4 = stride4();

    private static final VectorMask<Float> UPPER_EIGHT =
            F.length() == 16 ? F.indexInRange(8, 16).not() : null;

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static VectorShuffle<Float>[] stride4() {
        if (F.length() != 16) {
            return null;
        }
        VectorShuffle<Float>[] shuffles = new VectorShuffle[4];
        for (int k = 0; k < 4; k++) {
            int[] lanes = new int[16];
            for (int i = 0; i < 16; i++) {
                lanes[i] = 4 * (i % 8) + k;
            }
            shuffles[k] = VectorShuffle.fromArray(F, lanes, 0);
        }
        return shuffles;
    }

    /**
     * The input of a 16-lane kernel that reads a 256-value block's codes as ints, several codes to an int
     * ({@link Q5_KTensor}): {@code x[xOff ..]} rearranged block by block into 16 vectors of 16, where
     * lanes 0-7 of vector v are values {@code low[v] + 4i + k} and lanes 8-15 values {@code high[v] + 4(i-8) + k} of
     * the block ({@code k = (v % 8) / 2}, the byte of the int), times {@code weight[v]}; then {@code extra} floats
     * of room, which the kernel fills with sums of x.
     */
    static float[] interleave(float[] x, int xOff, int cols, int extra, int[] low, int[] high, float[] weight) {
        float[] out = new float[cols + extra];
        for (int b = 0; b < cols; b += 256) {
            int base = xOff + b;
            for (int v = 0; v < 16; v++) {
                VectorShuffle<Float> pick = STRIDE_4[(v % 8) / 2];
                FloatVector lo = FloatVector.fromArray(F, x, base + low[v])
                        .rearrange(pick, FloatVector.fromArray(F, x, base + low[v] + 16));
                FloatVector hi = FloatVector.fromArray(F, x, base + high[v])
                        .rearrange(pick, FloatVector.fromArray(F, x, base + high[v] + 16));
                lo.blend(hi, UPPER_EIGHT).mul(weight[v]).intoArray(out, b + 16 * v);
            }
        }
        return out;
    }

    protected final int u8(int at) {
        return raw[at] & 0xFF;
    }

    protected final float f16(int at) {
        return Float.float16ToFloat(i16(at));
    }

    protected final short i16(int at) {
        return LittleEndian.i16(raw, at);
    }

    protected final int i32(int at) {
        return LittleEndian.i32(raw, at);
    }

    /**
     * The eight sub-block scales ({@code d} times a 6-bit scale) and minimums ({@code dmin} times a 6-bit minimum)
     * of a Q4_K or Q5_K block, whose 12 packed bytes start at {@code at}: sub-blocks 0-3 in the low six bits of
     * bytes j and j+4, sub-blocks 4-7 in the nibbles of byte j+4 with their top two bits in the spare bits of bytes
     * j-4 and j.
     */
    protected final void scalesAndMins(int at, float d, float dmin, float[] scales, float[] mins) {
        // the 12 bytes as three little-endian words: bytes 0-3, 4-7, 8-11
        int w0 = i32(at), w1 = i32(at + 4);
        int w2 = i32(at + 8);
        for (int j = 0; j < 8; j++) {
            scales[j] = d * scale6(w0, w1, w2, j);
            mins[j] = dmin * min6(w0, w1, w2, j);
        }
    }

    /** The 6-bit scale of sub-block {@code j} from the three words of a Q4_K/Q5_K scale field. */
    static int scale6(int w0, int w1, int w2, int j) {
        return j < 4 ? (w0 >>> (8 * j)) & 63 : ((w2 >>> (8 * (j - 4))) & 0xF) | (((w0 >>> (8 * (j - 4) + 6)) & 3) << 4);
    }

    /** The 6-bit minimum of sub-block {@code j} from the three words of a Q4_K/Q5_K scale field. */
    static int min6(int w0, int w1, int w2, int j) {
        return j < 4
                ? (w1 >>> (8 * j)) & 63
                : ((w2 >>> (8 * (j - 4) + 4)) & 0xF) | (((w1 >>> (8 * (j - 4) + 6)) & 3) << 4);
    }
}
