package dev.kvslim.core.tensor;

import java.util.Locale;

/**
 * Who multiplies a batch of tokens by a weight matrix ({@link FloatTensor#matmul} with more than
 * {@link FloatTensor#SMALL_BATCH} tokens): the
 * pure Java GEMM, always there and the reference for correctness, or oneDNN through FFM ({@link OneDnn}) where
 * {@code libdnnl.so.2} is installed. A decode step's matrix-vector product, and a small batch's, is always Java's.
 * <p>Chosen by {@code -Dkvslim.matmul=auto|java|onednn} ({@code KVSLIM_MATMUL} in the launcher); {@code auto}, the
 * default, takes oneDNN where it loads.
 */
public enum MatmulBackend {
    JAVA,
    ONEDNN;

    public static final String PROPERTY = "kvslim.matmul";

    /** The backend {@code -Dkvslim.matmul} names (or {@code auto}'s choice); a bad value or a missing library throws. */
    public static MatmulBackend configured() {
        return parse(System.getProperty(PROPERTY, "auto"));
    }

    /** {@code java}, {@code onednn} or {@code auto}; throws with a one-line reason for anything else. */
    public static MatmulBackend parse(String name) {
        switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "java" -> {
                return JAVA;
            }
            case "auto" -> {
                return OneDnn.available() ? ONEDNN : JAVA;
            }
            case "onednn" -> {
                if (!OneDnn.available()) {
                    throw new IllegalArgumentException("matmul backend onednn: libdnnl.so.2 could not be used ("
                            + OneDnn.unavailableReason() + "); install libdnnl2 or choose java");
                }
                return ONEDNN;
            }
            default ->
                throw new IllegalArgumentException("matmul backend must be java, onednn or auto, got '" + name + "'");
        }
    }

    /** For reports: "java", or "onednn (oneDNN 2.6.3)". */
    public String describe() {
        return this == JAVA ? "java" : "onednn (" + OneDnn.describe() + ")";
    }
}
