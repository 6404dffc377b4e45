package dev.kvslim.core.tensor;

/**
 * Weight storage types, with the ids GGUF uses for them. Only the types KVSlim can compute with are listed;
 * {@link #fromId} names any other id in its error.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    IQ4_NL(20, 32, 18),
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
            throw new IllegalArgumentException(
                    this + " needs a multiple of " + blockSize + " elements, got " + elements);
        }
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }

    /** The type GGUF numbers {@code id}, or null if KVSlim cannot compute with it. */
    public static GgmlType byId(int id) {
        for (GgmlType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }

    /** The type GGUF numbers {@code id}; an error listing the supported ones if there is none. */
    public static GgmlType fromId(int id) {
        GgmlType t = byId(id);
        if (t == null) {
            StringBuilder supported = new StringBuilder();
            for (GgmlType s : values()) {
                supported
                        .append(supported.isEmpty() ? "" : ", ")
                        .append(s)
                        .append('=')
                        .append(s.id);
            }
            throw new IllegalArgumentException(
                    "unsupported GGML tensor type id " + id + " (supported: " + supported + ")");
        }
        return t;
    }
}
