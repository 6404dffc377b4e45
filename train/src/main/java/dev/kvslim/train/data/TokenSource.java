package dev.kvslim.train.data;

/**
 * Where training batches come from: a stream of token rows (text, or later the task-suite generators). A
 * source is deterministic given its state, and exposes that state so a checkpoint can store it and a resumed
 * run continue with exactly the batches an uninterrupted run would have seen.
 */
public interface TokenSource {

    /** Fills {@code batch.tokens} with {@code B} rows of {@code T+1} ids (and the mask, if the source has one). */
    void next(Batch batch);

    /** The source's position and random state, as plain numbers. */
    long[] state();

    /** Returns to a state {@link #state} gave. */
    void restore(long[] state);
}
