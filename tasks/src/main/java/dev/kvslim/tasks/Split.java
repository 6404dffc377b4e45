package dev.kvslim.tasks;

/**
 * Training or held-out evaluation data. Each split owns half of all seeds, TRAIN the even ones and EVAL the odd ones,
 * so evaluation samples are never generated from a training seed, whatever indices or mix seeds either side uses.
 */
public enum Split {
    TRAIN,
    EVAL;

    /** The seed of this split's sample number {@code n} ({@code 2n} or {@code 2n + 1}; the top bit of n is dropped). */
    public long seed(long n) {
        return n << 1 | (this == EVAL ? 1 : 0);
    }

    /** The split that owns {@code seed}. */
    public static Split of(long seed) {
        return (seed & 1) == 0 ? TRAIN : EVAL;
    }
}
