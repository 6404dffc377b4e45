package dev.kvslim.serve.schedule;

import dev.kvslim.core.generate.Decoding;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * One sequence in the scheduler: its tokens so far (prompt, then generated), how many of them its cache holds, and its
 * {@link Decoding} (sampler, stop strings, limits). Everything but {@link #cancel} belongs to the engine thread. A
 * preempted sequence keeps its tokens and decoding state and only loses its cache: it is recomputed from its tokens
 * when readmitted.
 */
public final class Sequence {

    private final Scheduler scheduler;
    final long id;
    final SequenceRequest request;
    final long arrivalNanos;
    final int capacity;
    final Utf8Accumulator text = new Utf8Accumulator();
    final Decoding decoding;
    int[] tokens;
    int length;
    int generated;
    PagedKvCache cache;
    int cached;
    boolean admittedOnce;
    long firstTokenNanos;
    long lastTokenNanos;
    boolean finished;
    volatile boolean cancelRequested;

    Sequence(
            Scheduler scheduler,
            long id,
            SequenceRequest request,
            int capacity,
            int vocabSize,
            Tokenizer tokenizer,
            IntPredicate endOfGeneration) {
        this.scheduler = scheduler;
        this.id = id;
        this.request = request;
        this.arrivalNanos = System.nanoTime();
        this.capacity = capacity;
        this.decoding = new Decoding(
                new Sampler(request.sampling(), vocabSize),
                tokenizer,
                request.ignoreEos() ? t -> false : endOfGeneration,
                request.stop(),
                request.prompt(),
                request.maxTokens(),
                capacity,
                text::write);
        this.tokens = Arrays.copyOf(request.prompt(), request.prompt().length + Math.min(request.maxTokens(), 256));
        this.length = request.prompt().length;
    }

    /** Scheduler-wide id, in submission order. */
    public long id() {
        return id;
    }

    /**
     * Stops the sequence: its blocks go back to the pool at the start of the engine's next step, and its listener
     * hears {@link FinishReason#ABORT} (unless it had already finished). Safe from any thread, more than once.
     */
    public void cancel() {
        if (!cancelRequested) {
            cancelRequested = true;
            scheduler.cancel(this);
        }
    }

    int promptLength() {
        return request.prompt().length;
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(length + 1, Math.min(capacity, 2 * length)));
        }
        tokens[length++] = token;
    }

    /** Tokens not yet in the cache: 1 while decoding, more while (re)computing a prompt. */
    int pending() {
        return length - cached;
    }
}
