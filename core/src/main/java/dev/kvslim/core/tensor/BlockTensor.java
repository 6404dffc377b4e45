package dev.kvslim.core.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A tensor stored in GGML blocks: each {@link GgmlType#blockSize} consecutive values of a row are one block of
 * {@link GgmlType#blockBytes} bytes, decoded by {@link #decodeBlock}. Element access, row expansion and the dot
 * product are written here once over that decoder; a type overrides {@link #dot} or {@link #dot4} where a
 * vectorised kernel over its packed bits pays (the decoders are the reference those kernels are tested against).
 */
public abstract class BlockTensor extends FloatTensor {

    /** Per thread: one row's worth of decoded blocks, reused by {@link #dot}. */
    private static final ThreadLocal<float[]> DECODED = ThreadLocal.withInitial(() -> new float[0]);

    protected final MemorySegment data;
    protected final int block;
    protected final int blockBytes;
    protected final int blocksPerRow;

    protected BlockTensor(GgmlType type, MemorySegment data, long rows, int cols) {
        super(rows, cols);
        Tensors.requireBlockRows(cols, type.blockSize, type.name());
        this.data = Tensors.requireBytes(data, type.bytesFor(rows * cols), type.name());
        this.block = type.blockSize;
        this.blockBytes = type.blockBytes;
        this.blocksPerRow = cols / type.blockSize;
    }

    /** Writes the {@code block} values of the block at byte {@code at} to {@code out[off ..)}. */
    protected abstract void decodeBlock(long at, float[] out, int off);

    @Override
    public final MemorySegment segment() {
        return data;
    }

    /** Byte offset of block {@code b} of row {@code row}. */
    protected final long blockAt(long row, int b) {
        return (row * blocksPerRow + b) * blockBytes;
    }

    @Override
    public float get(long index) {
        float[] values = new float[block];
        decodeBlock(index / block * blockBytes, values, 0);
        return values[(int) (index % block)];
    }

    @Override
    public void dequantizeRow(long row, float[] out, int off) {
        long at = blockAt(row, 0);
        for (int b = 0; b < blocksPerRow; b++, at += blockBytes) {
            decodeBlock(at, out, off + b * block);
        }
    }

    /** The row decoded into this thread's buffer, then one vectorised dot product. */
    @Override
    public float dot(long row, float[] x, int xOff) {
        float[] decoded = DECODED.get();
        if (decoded.length < cols) {
            decoded = new float[cols];
            DECODED.set(decoded);
        }
        dequantizeRow(row, decoded, 0);
        return Kernels.dot(decoded, 0, x, xOff, cols);
    }

    protected final int u8(long at) {
        return data.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    protected final float f16(long at) {
        return Float.float16ToFloat(data.get(LittleEndian.I16, at));
    }

    /**
     * The eight sub-block scales ({@code d} times a 6-bit scale) and minimums ({@code dmin} times a 6-bit minimum)
     * of a Q4_K or Q5_K block, whose 12 packed bytes start at {@code at}: sub-blocks 0-3 in the low six bits of
     * bytes j and j+4, sub-blocks 4-7 in the nibbles of byte j+4 with their top two bits in the spare bits of bytes
     * j-4 and j.
     */
    protected final void scalesAndMins(long at, float d, float dmin, float[] scales, float[] mins) {
        for (int j = 0; j < 8; j++) {
            int scale, min;
            if (j < 4) {
                scale = u8(at + j) & 63;
                min = u8(at + j + 4) & 63;
            } else {
                scale = (u8(at + j + 4) & 0xF) | ((u8(at + j - 4) >>> 6) << 4);
                min = (u8(at + j + 4) >>> 4) | ((u8(at + j) >>> 6) << 4);
            }
            scales[j] = d * scale;
            mins[j] = dmin * min;
        }
    }
}
