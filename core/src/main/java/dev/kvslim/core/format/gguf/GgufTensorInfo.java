package dev.kvslim.core.format.gguf;

/**
 * Where a tensor lies: {@code dims[0]} is the innermost (contiguous) dimension, as in GGML; {@code offset}
 * counts from the start of the tensor data section.
 */
public record GgufTensorInfo(String name, long[] dims, int typeId, long offset) {

    public long elements() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public String shape() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(dims[i]);
        }
        return sb.append(']').toString();
    }
}
