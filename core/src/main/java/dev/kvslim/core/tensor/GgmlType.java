package dev.kvslim.core.tensor;

/**
 * Weight storage types, with the ids GGUF uses for them. Only the types KVSlim can compute with are listed;
 * {@link #fromId} names any other id in its error.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q8_0(8, 32, 34),
    BF16(30, 1, 2);

    /** GGUF type id. */
    public final int id;
    /** Elements per block (1 for plain floats). */
    public final int blockSize;
    /** Bytes per block. */
    public final int blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Bytes needed for {@code elements} values; {@code elements} must be a multiple of the block size. */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(this + " needs a multiple of " + blockSize + " elements, got " + elements);
        }
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }

    public static GgmlType fromId(int id) {
        for (GgmlType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        throw new IllegalArgumentException("unsupported GGML tensor type id " + id
                + " (supported: F32=0, F16=1, Q4_0=2, Q8_0=8, BF16=30)");
    }
}
