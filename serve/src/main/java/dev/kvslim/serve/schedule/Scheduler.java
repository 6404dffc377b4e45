package dev.kvslim.serve.schedule;

import dev.kvslim.core.generate.BatchStep;
import dev.kvslim.core.generate.Generator;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCacheFullException;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.tokenizer.Tokenizer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntPredicate;

/**
 * Continuous batching for one model on one engine thread. Requests wait in a bounded queue; a waiting sequence is
 * admitted when the blocks its tokens need fit the {@link BlockPool}'s budget next to what the running ones still
 * need for their prompts (for a compressing cache, the blocks it is expected to keep: {@link #expectedBlocks}). Every step runs one batched forward pass ({@link Model#forward(Model.State, List)}): a
 * token for each decoding sequence first, then prompt chunks of sequences still prefilling, up to
 * {@link Options#tokensPerStep} tokens. When the running caches outgrow the budget (the pool's
 * {@link KvCacheFullException}), the newest running sequence is preempted: its blocks go back to the pool and it is
 * requeued at the front, to be recomputed from its prompt and the tokens generated so far. Cancelled sequences
 * release their blocks at the next step. Sequences get the cache a {@link KvCacheSpec} says: by default the model's
 * own (DMS for models retrofitted with it).
 */
public final class Scheduler {

    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());

    /**
     * Scheduling limits.
     *
     * @param tokensPerStep most tokens of one batched forward pass (decode tokens plus prompt chunks)
     * @param maxRunning    most sequences holding KV memory at once; at most {@code tokensPerStep}, so every
     *                      decoding sequence gets its token each step
     * @param maxWaiting    most sequences waiting for admission; more are refused ({@link QueueFullException})
     * @param stepPause     a pause after every step: zero in production; tests and demos use it to watch requests in
     *                      flight
     * @param prefixCaching keep finished sequences' caches for requests that start with the same tokens
     *                      ({@link PrefixStore}); on by default, off with the four-argument constructor
     */
    public record Options(
            int tokensPerStep, int maxRunning, int maxWaiting, Duration stepPause, boolean prefixCaching) {

        public static final Options DEFAULTS = new Options(256, 64, 256, Duration.ZERO, true);

        /** Limits without prefix caching (every sequence starts from an empty cache). */
        public Options(int tokensPerStep, int maxRunning, int maxWaiting, Duration stepPause) {
            this(tokensPerStep, maxRunning, maxWaiting, stepPause, false);
        }

        public Options {
            if (tokensPerStep < 1 || maxRunning < 1 || maxWaiting < 0) {
                throw new IllegalArgumentException("scheduler limits need tokens per step >= 1, max running >= 1 and"
                        + " max waiting >= 0: " + tokensPerStep + ", " + maxRunning + ", " + maxWaiting);
            }
            if (maxRunning > tokensPerStep) {
                throw new IllegalArgumentException(
                        "max running sequences (" + maxRunning + ") must not exceed the tokens" + " per step ("
                                + tokensPerStep + "): each decoding sequence needs its token every step");
            }
            if (stepPause.isNegative()) {
                throw new IllegalArgumentException("step pause must not be negative: " + stepPause);
            }
        }
    }

    private final Model model;
    private final LlamaConfig config;
    private final Tokenizer tokenizer;
    private final IntPredicate endOfGeneration;
    private final BlockPool pool;
    private final KvCacheSpec.Paged cacheSpec;
    private final Options options;
    private final SchedulerObserver observer;
    private final Model.State state;
    private final Thread engine;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workArrived = lock.newCondition();
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final ConcurrentLinkedQueue<Sequence> cancelled = new ConcurrentLinkedQueue<>();
    private final List<Sequence> running = new ArrayList<>(); // engine thread only, in admission order
    private final AtomicLong ids = new AtomicLong();
    private volatile boolean accepting = true;
    private volatile boolean stopping;
    private volatile SchedulerStats stats;
    private final SchedulerStats.Recorder recorder;
    /** Tokens a compressing cache always keeps: the DMS window w + 1 (0 for a policy or no compression). */
    private final int keptWindow;

    private final PrefixStore prefixes; // null without prefix caching
    private volatile long keptBlocks;

    /**
     * A scheduler for {@code model}, drawing KV blocks from {@code pool} (whose head size must be the model's); its
     * engine thread starts at once. Sequences end at tokens {@code endOfGeneration} accepts.
     */
    public Scheduler(
            String name,
            Model model,
            Tokenizer tokenizer,
            IntPredicate endOfGeneration,
            BlockPool pool,
            Options options,
            SchedulerObserver observer) {
        this(
                name,
                model,
                tokenizer,
                endOfGeneration,
                pool,
                options,
                observer,
                KvCacheSpec.modelDefault(model.config().kvShape()));
    }

    /** As above, giving every sequence the cache {@code cacheSpec} says (DMS needs a model retrofitted with it). */
    public Scheduler(
            String name,
            Model model,
            Tokenizer tokenizer,
            IntPredicate endOfGeneration,
            BlockPool pool,
            Options options,
            SchedulerObserver observer,
            KvCacheSpec.Paged cacheSpec) {
        if (cacheSpec instanceof KvCacheSpec.Dms && !model.config().kvShape().hasDms()) {
            throw new IllegalArgumentException(
                    "the DMS cache needs a model retrofitted with DMS; this one has no DMS" + " settings");
        }
        cacheSpec.requireNoReplay("serve");
        this.model = model;
        this.config = model.config();
        this.tokenizer = tokenizer;
        this.endOfGeneration = endOfGeneration;
        this.pool = pool;
        this.cacheSpec = cacheSpec;
        this.keptWindow = cacheSpec instanceof KvCacheSpec.Dms d ? d.window() + 1 : 0;
        this.recorder = new SchedulerStats.Recorder(config.layers(), config.kvHeads(), keptWindow);
        this.options = options;
        this.observer = observer;
        this.state = model.newState(Math.max(2, options.tokensPerStep()));
        this.prefixes = options.prefixCaching() ? new PrefixStore(options.maxRunning(), pool.blockBytes()) : null;
        if (pool.headSize() != config.headSize()) {
            throw new IllegalArgumentException(
                    "pool head size " + pool.headSize() + " != model head size " + config.headSize());
        }
        publishStats();
        this.engine = Thread.ofPlatform().name("kvslim-engine-" + name).daemon().unstarted(this::loop);
        engine.start();
    }

    /**
     * Runs one made-up sequence through the model before any request: a prompt of {@code promptTokens} tokens, then
     * {@code decodeTokens} one-token steps on the greedy choice, in a cache of this scheduler's kind drawn from its
     * pool and released after, so the JIT has compiled the whole forward pass (the paged cache's attention, the norms)
     * before the first request pays for it. Nothing of it reaches the statistics or the metrics. Holds the scheduler's
     * lock throughout, so a request submitted meanwhile waits; meant for a server that does not listen yet. Returns
     * the nanoseconds it took.
     */
    public long warmUp(int promptTokens, int decodeTokens) {
        long start = System.nanoTime();
        lock.lock();
        try {
            int vocab = config.vocabSize();
            int len = Math.max(
                    1, Math.min(promptTokens, Math.min(state.maxBatch(), config.contextLength() - decodeTokens)));
            int[] tokens = new int[len + Math.max(0, decodeTokens)];
            for (int i = 0; i < len; i++) {
                tokens[i] = (7 * i + 13) % vocab; // any ids: the speed of a pass does not depend on them
            }
            PagedKvCache cache = cacheSpec.newCache(config.kvShape(), pool, config.contextLength());
            try {
                float[] logits = model.forward(state, List.of(new Model.Chunk(cache, tokens, 0, len, 0)))[0];
                for (int i = 0; i < decodeTokens && len + i < config.contextLength(); i++) {
                    int next = 0;
                    for (int v = 1; v < logits.length; v++) {
                        next = logits[v] > logits[next] ? v : next;
                    }
                    tokens[len + i] = next;
                    logits = model.forward(state, List.of(new Model.Chunk(cache, tokens, len + i, 1, len + i)))[0];
                }
            } finally {
                cache.release();
            }
        } finally {
            lock.unlock();
        }
        return System.nanoTime() - start;
    }

    /** Whether the model's DMS cache is used (it was retrofitted with DMS). */
    public boolean usesDms() {
        return cacheSpec instanceof KvCacheSpec.Dms;
    }

    /** Whether finished sequences' caches are kept and shared ({@link Options#prefixCaching}). */
    public boolean prefixCaching() {
        return prefixes != null;
    }

    /** Pool blocks held by caches kept for prefix caching (as of the engine's last step). */
    public long keptBlocks() {
        return keptBlocks;
    }

    /** The cache the sequences get. */
    public KvCacheSpec.Paged cacheSpec() {
        return cacheSpec;
    }

    /** The model this scheduler runs. */
    public LlamaConfig modelConfig() {
        return config;
    }

    public BlockPool pool() {
        return pool;
    }

    public SchedulerStats stats() {
        return stats;
    }

    /**
     * Queues a sequence. Fails with {@link RequestTooLargeException} when its prompt leaves no room in the model's
     * context or its keys and values alone exceed the KV budget, and with {@link QueueFullException} when the
     * waiting queue is full or the scheduler is shutting down. The sequence may generate fewer tokens than asked if
     * the context ends first.
     */
    public Sequence submit(SequenceRequest request) {
        Sequence s = newSequence(request);
        lock.lock();
        try {
            if (!accepting) {
                throw new QueueFullException("the server is shutting down");
            }
            if (waiting.size() >= options.maxWaiting()) {
                throw new QueueFullException("the queue of " + options.maxWaiting() + " waiting requests is full");
            }
            waiting.addLast(s);
            workArrived.signal();
        } finally {
            lock.unlock();
        }
        return s;
    }

    /** A sequence for {@code request}, checked against the context and the budget. */
    private Sequence newSequence(SequenceRequest request) {
        int[] prompt = request.prompt();
        for (int t : prompt) {
            if (t < 0 || t >= config.vocabSize()) {
                throw new IllegalArgumentException(
                        "token id " + t + " outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
        if (prompt.length >= config.contextLength()) {
            throw new RequestTooLargeException("the prompt has " + prompt.length + " tokens; the model's context of "
                    + config.contextLength() + " leaves no room to generate");
        }
        if (blocksFor(prompt.length + 1) > pool.capacityBlocks()) {
            throw new RequestTooLargeException("the prompt's keys and values (" + prompt.length + " tokens, "
                    + blocksFor(prompt.length + 1) * pool.blockBytes() + " bytes in blocks) exceed the KV budget of "
                    + pool.budgetBytes() + " bytes");
        }
        int capacity = (int) Math.min(config.contextLength(), (long) prompt.length + request.maxTokens());
        return new Sequence(
                this, ids.incrementAndGet(), request, capacity, config.vocabSize(), tokenizer, endOfGeneration);
    }

    /**
     * Queues the {@code n} choices of one request. With prefix caching, choices with the same prompt compute it once:
     * the first is queued, the others wait for its prompt and then fork its cache ({@link PagedKvCache#fork}), sharing
     * the prompt's blocks. All are queued or none ({@link QueueFullException}, {@link RequestTooLargeException}).
     */
    public List<Sequence> submitAll(List<SequenceRequest> requests) {
        if (requests.size() == 1 || !options.prefixCaching()) {
            List<Sequence> out = new ArrayList<>();
            try {
                for (SequenceRequest r : requests) {
                    out.add(submit(r));
                }
            } catch (RuntimeException e) {
                out.forEach(Sequence::cancel);
                throw e;
            }
            return out;
        }
        List<Sequence> all = new ArrayList<>();
        for (SequenceRequest r : requests) {
            all.add(newSequence(r));
        }
        Sequence leader = all.getFirst();
        for (Sequence f : all.subList(1, all.size())) {
            if (java.util.Arrays.equals(f.request.prompt(), leader.request.prompt())) {
                leader.followers.add(f);
            }
        }
        lock.lock();
        try {
            if (!accepting) {
                throw new QueueFullException("the server is shutting down");
            }
            int queued = all.size() - leader.followers.size();
            if (waiting.size() + queued > options.maxWaiting()) {
                throw new QueueFullException("the queue of " + options.maxWaiting() + " waiting requests is full");
            }
            for (Sequence s : all) {
                if (!leader.followers.contains(s)) {
                    waiting.addLast(s);
                }
            }
            workArrived.signal();
        } finally {
            lock.unlock();
        }
        return all;
    }

    void cancel(Sequence s) {
        cancelled.add(s);
        lock.lock();
        try {
            workArrived.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Blocks a cache needs for {@code tokens} tokens when every head keeps all of them. */
    long blocksFor(int tokens) {
        return config.kvShape().blocksFor(tokens, pool.blockSize());
    }

    /**
     * Blocks a sequence of {@code tokens} tokens is expected to hold, what admission charges it. A cache that keeps
     * every token holds them all. A compressing cache (DMS, an eviction policy) holds its DMS window and, of the other
     * tokens, {@code keptShare} ({@link SchedulerStats.Recorder#keptShare}: the share this scheduler's caches kept so
     * far, 1 before any evicted): admission by compressed size, learnt from the caches themselves, since how much DMS
     * evicts depends on the model and the text. A sequence that outgrows its estimate is preempted, as any sequence
     * that outgrows the budget is.
     */
    long expectedBlocks(int tokens, double keptShare) {
        if (!cacheSpec.evicts()) {
            return blocksFor(tokens);
        }
        int window = Math.min(tokens, keptWindow);
        return blocksFor(window + (int) Math.ceil((tokens - window) * keptShare));
    }

    /**
     * Stops accepting sequences, lets the queued and running ones finish for up to {@code grace}, then cancels what
     * is left and stops the engine thread.
     */
    public void shutdown(Duration grace) throws InterruptedException {
        accepting = false;
        long deadline = System.nanoTime() + grace.toNanos();
        while (System.nanoTime() < deadline && !idle()) {
            Thread.sleep(5);
        }
        lock.lock();
        try {
            stopping = true;
            workArrived.signal();
        } finally {
            lock.unlock();
        }
        engine.join();
    }

    private boolean idle() {
        SchedulerStats s = stats;
        lock.lock();
        try {
            return waiting.isEmpty() && s.running() == 0;
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        try {
            while (true) {
                lock.lock();
                try {
                    while (!stopping && running.isEmpty() && waiting.isEmpty() && cancelled.isEmpty()) {
                        workArrived.await();
                    }
                    if (stopping) {
                        break;
                    }
                } finally {
                    lock.unlock();
                }
                step();
                if (options.stepPause().isPositive()) {
                    Thread.sleep(options.stepPause());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Sequence s : List.copyOf(running)) {
            finish(s, FinishReason.ABORT);
        }
        if (prefixes != null) {
            prefixes.clear();
        }
        lock.lock();
        try {
            for (Sequence s : waiting) {
                finish(s, FinishReason.ABORT);
            }
            waiting.clear();
        } finally {
            lock.unlock();
        }
        publishStats();
    }

    /** One engine step: cancellations, admissions, one batched forward pass, sampling. */
    private void step() {
        for (Sequence s; (s = cancelled.poll()) != null; ) {
            if (!s.finished) {
                lock.lock();
                try {
                    waiting.remove(s);
                } finally {
                    lock.unlock();
                }
                finish(s, FinishReason.ABORT);
            }
        }
        admit();
        BatchStep.Plan<Sequence> plan = null;
        while (!running.isEmpty()) {
            plan = BatchStep.plan(running, options.tokensPerStep());
            long need = 0;
            for (int i = 0; i < plan.sequences().size(); i++) {
                need += plan.sequences()
                        .get(i)
                        .cache()
                        .blocksNeeded(plan.chunks().get(i).len());
            }
            try {
                pool.require(need);
                break;
            } catch (KvCacheFullException full) {
                plan = null;
                if (prefixes != null && prefixes.evictOldest()) {
                    continue; // kept caches give way before running sequences do
                }
                Sequence newest = running.getLast();
                if (running.size() == 1) {
                    finish(newest, FinishReason.LENGTH); // alone, it outgrew the whole budget
                } else {
                    preempt(newest);
                }
            }
        }
        if (plan == null || plan.isEmpty()) {
            publishStats();
            return;
        }
        float[][] logits;
        try {
            logits = BatchStep.forward(model, state, plan);
        } catch (RuntimeException e) {
            LOG.log(
                    System.Logger.Level.ERROR,
                    "forward pass failed; ending its " + plan.sequences().size() + " sequences",
                    e);
            for (Sequence s : plan.sequences()) {
                finish(s, FinishReason.ERROR);
            }
            publishStats();
            return;
        }
        recorder.used(pool.usedBytes());
        recorder.ran(running.size());
        int tokens = 0;
        for (var chunk : plan.chunks()) {
            tokens += chunk.len();
        }
        observer.computed(tokens);
        BatchStep.ready(plan, logits, this::next);
        publishStats();
    }

    /** Admits waiting sequences, oldest first, while their blocks fit next to what running prompts still need. */
    private void admit() {
        lock.lock();
        try {
            double keptShare = Double.NaN; // computed once a sequence waits, not on every step
            while (!waiting.isEmpty() && running.size() < options.maxRunning()) {
                if (Double.isNaN(keptShare)) {
                    keptShare = cacheSpec.evicts() ? recorder.keptShare(runningCaches()) : 1;
                }
                Sequence s = waiting.peekFirst();
                int[] tokens = prefixes != null ? s.tokens() : null;
                PrefixStore.Hit hit = prefixes != null ? prefixes.find(tokens, runningSources()) : null;
                long held = hit == null ? 0 : hit.cache().bytesUsed() / pool.blockBytes();
                long need = Math.max(0, expectedBlocks(s.length(), keptShare) - held);
                long reserved = 0;
                for (Sequence r : running) {
                    reserved += Math.max(
                            0, expectedBlocks(r.length(), keptShare) - r.cache().bytesUsed() / pool.blockBytes());
                }
                long free = (long) pool.capacityBlocks() - pool.usedBlocks();
                while (need + reserved > free && prefixes != null && prefixes.evictOldest()) {
                    free = (long) pool.capacityBlocks() - pool.usedBlocks();
                }
                if (need + reserved > free) {
                    if (hit != null) {
                        prefixes.putBack(tokens, hit.reused(), hit.cache());
                    }
                    if (running.isEmpty()) {
                        waiting.pollFirst();
                        finish(s, FinishReason.LENGTH); // grew beyond the whole budget before it was preempted
                        continue;
                    }
                    break;
                }
                waiting.pollFirst();
                // a cache for the whole context: its capacity is only a bound, and a kept cache may serve a longer turn
                if (hit != null) {
                    recorder.reused(hit.cache());
                    s.attach(hit.cache(), hit.reused());
                } else {
                    s.attach(cacheSpec.newCache(config.kvShape(), pool, config.contextLength()), 0);
                }
                if (prefixes != null) {
                    int reused = hit == null ? 0 : hit.reused();
                    observer.prefixCache(s.length(), reused);
                    recorder.prefixCache(s.length(), reused);
                    if (!s.admittedOnce) {
                        s.reusedTokens = reused;
                    }
                }
                running.add(s);
                if (!s.admittedOnce) {
                    s.admittedOnce = true;
                    s.admittedNanos = System.nanoTime();
                    observer.admitted((System.nanoTime() - s.arrivalNanos) / 1e9, s.promptLength());
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private void preempt(Sequence s) {
        release(s);
        running.remove(s);
        observer.preempted();
        lock.lock();
        try {
            waiting.addFirst(s);
        } finally {
            lock.unlock();
        }
    }

    /** Samples a sequence's next token from the logits of its last token, hands it on, and ends it if it is done. */
    private void next(Sequence s, float[] logits) {
        if (s.generated == 0 && !s.followers.isEmpty()) {
            // the choices that wait for this one's prompt share its cache and its first logits
            float[] shared = logits.clone();
            List<Sequence> forked = fork(s);
            sample(s, logits);
            for (Sequence f : forked) {
                sample(f, shared.clone());
            }
            return;
        }
        sample(s, logits);
    }

    /**
     * Gives each follower of {@code leader} (the other choices of its request, which waited for its prompt) a fork of
     * the leader's cache, holding the prompt, and a place among the running sequences; followers that cannot have one
     * (an eviction policy's cache, or no room to run) are queued to compute their prompt themselves.
     */
    private List<Sequence> fork(Sequence leader) {
        List<Sequence> forked = new ArrayList<>();
        List<Sequence> queued = new ArrayList<>();
        long now = System.nanoTime();
        for (Sequence f : leader.followers) {
            if (f.finished || f.cancelRequested) {
                continue;
            }
            if (leader.cache().canFork() && running.size() < options.maxRunning()) {
                f.attach(leader.cache().fork(), leader.cached());
                recorder.reused(f.cache()); // the prompt's keys and values count once, with the leader's cache
                running.add(f);
                f.admittedOnce = true;
                f.admittedNanos = now;
                observer.admitted((now - f.arrivalNanos) / 1e9, f.promptLength());
                observer.prefixCache(f.length(), leader.cached());
                recorder.prefixCache(f.length(), leader.cached());
                forked.add(f);
            } else {
                queued.add(f);
            }
        }
        leader.followers.clear();
        requeue(queued);
        return forked;
    }

    /** The running sequences' caches with the tokens they hold, as sources of prefixes. */
    private List<PrefixStore.Source> runningSources() {
        List<PrefixStore.Source> sources = new ArrayList<>(running.size());
        for (Sequence r : running) {
            if (r.cached() >= PrefixStore.MIN_SHARED) {
                sources.add(new PrefixStore.Source(java.util.Arrays.copyOf(r.tokens(), r.cached()), r.cache()));
            }
        }
        return sources;
    }

    /** Puts sequences back at the front of the queue, in order. */
    private void requeue(List<Sequence> sequences) {
        if (sequences.isEmpty()) {
            return;
        }
        lock.lock();
        try {
            for (int i = sequences.size() - 1; i >= 0; i--) {
                waiting.addFirst(sequences.get(i));
            }
        } finally {
            lock.unlock();
        }
    }

    /** Samples a sequence's next token from the logits of its last token, hands it on, and ends it if it is done. */
    private void sample(Sequence s, float[] logits) {
        int before = s.decoding().lastTextToken();
        Generator.StopReason stop = s.decode(logits);
        int token = s.decoding().token();
        TokenEvent.TokenLogprobs logprobs = s.request.topLogprobs() >= 0
                ? Logprobs.of(logits, token, s.request.topLogprobs(), tokenizer, before)
                : null;
        long now = System.nanoTime();
        if (s.generated == 0) {
            s.firstTokenNanos = now;
            observer.firstToken((now - s.arrivalNanos) / 1e9);
        } else {
            observer.interToken((now - s.lastTokenNanos) / 1e9);
        }
        s.lastTokenNanos = now;
        s.generated++;
        recorder.generated();
        FinishReason reason =
                stop == null ? null : stop == Generator.StopReason.LENGTH ? FinishReason.LENGTH : FinishReason.STOP;
        String text = reason == null ? s.text.take() : s.text.take() + s.text.flush();
        s.request.listener().onToken(new TokenEvent(token, text, logprobs));
        if (reason != null) {
            finish(s, reason);
        }
    }

    private void finish(Sequence s, FinishReason reason) {
        if (s.finished) {
            return;
        }
        s.finished = true;
        if (!s.followers.isEmpty()) {
            // it ended before its prompt was done: its followers compute their own (or end too, at shutdown)
            List<Sequence> followers = new ArrayList<>(s.followers);
            s.followers.clear();
            if (stopping) {
                for (Sequence f : followers) {
                    finish(f, FinishReason.ABORT);
                }
            } else {
                requeue(followers);
            }
        }
        if (s.cache() != null) {
            observer.cacheAtFinish(s.cache().bytesUsed(), s.cache().liveBytes());
        }
        if (prefixes != null && s.cache() != null && reason != FinishReason.ERROR) {
            // kept for a request that starts with the same tokens (the next turn of a conversation)
            long evicted = recorder.released(s.cache());
            if (evicted > 0) {
                observer.evicted(evicted);
            }
            prefixes.put(java.util.Arrays.copyOf(s.tokens(), s.cached()), s.cache());
            s.detach();
            keptBlocks = prefixes.blocks();
        }
        release(s);
        running.remove(s);
        observer.finished(reason, s.promptLength(), s.generated, (System.nanoTime() - s.arrivalNanos) / 1e9);
        s.request.listener().onFinish(reason, s.promptLength(), s.generated);
    }

    private void release(Sequence s) {
        PagedKvCache cache = s.cache();
        if (cache == null) {
            return;
        }
        releaseCache(cache);
        s.detach();
    }

    /** Returns a cache's blocks to the pool, counting what it evicted. */
    private void releaseCache(PagedKvCache cache) {
        long evicted = recorder.released(cache);
        if (evicted > 0) {
            observer.evicted(evicted);
        }
        cache.release();
    }

    private void publishStats() {
        if (prefixes != null) {
            keptBlocks = prefixes.blocks();
        }
        int queued;
        lock.lock();
        try {
            queued = waiting.size();
        } finally {
            lock.unlock();
        }
        stats = recorder.snapshot(runningCaches(), queued, pool);
    }

    private List<PagedKvCache> runningCaches() {
        List<PagedKvCache> caches = new ArrayList<>(running.size());
        for (Sequence s : running) {
            caches.add(s.cache());
        }
        return caches;
    }
}
