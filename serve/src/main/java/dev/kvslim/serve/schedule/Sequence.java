package dev.kvslim.serve.schedule;

import dev.kvslim.core.constrain.Automaton;
import dev.kvslim.core.constrain.Constraint;
import dev.kvslim.core.constrain.TokenMask;
import dev.kvslim.core.generate.Decoding;
import dev.kvslim.core.generate.Generation;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;

/**
 * One sequence in the scheduler: its tokens so far (prompt, then generated), how many of them its cache holds, and its
 * {@link Decoding} (sampler, stop strings, limits). Everything but {@link #cancel} belongs to the engine thread. A
 * preempted sequence keeps its tokens and decoding state and only loses its cache: it is recomputed from its tokens
 * when readmitted.
 */
public final class Sequence extends Generation<PagedKvCache> {

    private final Scheduler scheduler;
    final long id;
    final SequenceRequest request;
    final long arrivalNanos;
    final int capacity;
    final Utf8Accumulator text;
    int generated;
    boolean admittedOnce;
    volatile long admittedNanos;
    volatile long firstTokenNanos;
    volatile long lastTokenNanos;
    boolean finished;
    volatile boolean cancelRequested;
    volatile int reusedTokens;
    /** The other choices of its request, waiting for its prompt to fork its cache (engine thread after submission). */
    final List<Sequence> followers = new ArrayList<>();

    Sequence(
            Scheduler scheduler,
            long id,
            SequenceRequest request,
            int capacity,
            int vocabSize,
            Tokenizer tokenizer,
            IntPredicate endOfGeneration) {
        Utf8Accumulator text = new Utf8Accumulator(); // the decoding's sink, made before the superclass exists
        IntPredicate ends = request.ignoreEos() ? t -> false : endOfGeneration;
        Constraint constraint = request.grammar() == null
                ? null
                : new Constraint(new Automaton(request.grammar()), TokenMask.of(tokenizer), ends);
        super(
                request.prompt(),
                Math.min(request.maxTokens(), 256),
                new Decoding(
                        new Sampler(request.sampling(), vocabSize, request.logitBias()),
                        tokenizer,
                        ends,
                        request.stop(),
                        request.prompt(),
                        request.maxTokens(),
                        capacity,
                        text::write,
                        constraint));
        this.scheduler = scheduler;
        this.id = id;
        this.request = request;
        this.arrivalNanos = System.nanoTime();
        this.capacity = capacity;
        this.text = text;
    }

    /** Prompt tokens its first admission found in a kept cache (prefix caching), so it did not prefill them. */
    public int reusedTokens() {
        return reusedTokens;
    }

    /**
     * Where the sequence's time went, as llama.cpp's server reports it per request: waiting for KV memory, computing
     * the prompt (to the first token) and generating (from the first token to the last).
     *
     * @param queueMs     arrival to first admission
     * @param promptMs    first admission to the first token
     * @param predictedMs the first token to the last
     */
    public record Timings(double queueMs, double promptMs, double predictedMs) {}

    /** The timings so far (zeros for what has not happened yet). */
    public Timings timings() {
        long admitted = admittedNanos, first = firstTokenNanos, last = lastTokenNanos;
        return new Timings(
                admitted == 0 ? 0 : (admitted - arrivalNanos) / 1e6,
                admitted == 0 || first == 0 ? 0 : (first - admitted) / 1e6,
                first == 0 ? 0 : (last - first) / 1e6);
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
}
