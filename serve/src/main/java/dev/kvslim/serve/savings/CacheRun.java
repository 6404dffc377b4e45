package dev.kvslim.serve.savings;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.sample.SamplingParams;
import dev.kvslim.serve.schedule.FinishReason;
import dev.kvslim.serve.schedule.RequestTooLargeException;
import dev.kvslim.serve.schedule.Scheduler;
import dev.kvslim.serve.schedule.SchedulerObserver;
import dev.kvslim.serve.schedule.SchedulerStats;
import dev.kvslim.serve.schedule.SequenceListener;
import dev.kvslim.serve.schedule.SequenceRequest;
import dev.kvslim.serve.schedule.TokenEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;

/**
 * One side of a savings report: a workload run through a continuous-batching {@link Scheduler} in process, every
 * request queued at once, greedy and to its full length (end-of-generation ignored, so both sides generate the same
 * tokens), with one {@link KvCacheSpec} in one KV budget.
 *
 * @param cache            the cache's label
 * @param sequences        requests run
 * @param meanBlockBytes   mean KV bytes in blocks (what the budget is charged) a sequence held at its end
 * @param peakBlockBytes   the most any sequence held
 * @param meanLiveBytes    mean bytes of the keys and values a sequence kept at its end
 * @param fitSequences     sequences of the peak size that fit the budget together
 * @param peakRunning      the most sequences that ran at once
 * @param meanRunning      sequences running in a step, averaged over the run's steps
 * @param preemptions      sequences preempted for memory (recomputed later)
 * @param generatedTokens  tokens generated
 * @param seconds          wall time of the run
 */
public record CacheRun(
        String cache,
        int sequences,
        double meanBlockBytes,
        long peakBlockBytes,
        double meanLiveBytes,
        long fitSequences,
        int peakRunning,
        double meanRunning,
        long preemptions,
        long generatedTokens,
        double seconds) {

    /** Tokens generated per second of wall time. */
    public double tokensPerSecond() {
        return generatedTokens / seconds;
    }

    /** Encoded prompts of {@code workload} for {@code model}, checked against its context. */
    static List<int[]> prompts(LoadedModel model, Workload workload) {
        int window = model.model().config().contextLength();
        return workload.requests().stream()
                .map(r -> {
                    int[] tokens = model.tokenizer().encode(r.prompt(), true);
                    if (tokens.length == 0 || (long) tokens.length + r.maxTokens() > window) {
                        throw new IllegalArgumentException("the workload request '" + r.prompt() + "' (" + tokens.length
                                + " prompt tokens + " + r.maxTokens()
                                + " to generate) does not fit the model's context of "
                                + window + " tokens");
                    }
                    return tokens;
                })
                .toList();
    }

    /**
     * Runs {@code workload} on {@code model} with {@code cache} in a KV budget of {@code budgetBytes}, keys and values
     * stored as {@code type}, in blocks of the model's size ({@link PagedKvCache#blockSizeFor}).
     */
    public static CacheRun run(
            LoadedModel model, Workload workload, KvCacheSpec.Paged cache, long budgetBytes, KvType type)
            throws InterruptedException {
        List<int[]> prompts = prompts(model, workload);
        int n = prompts.size();
        var c = model.model().config();
        BlockPool pool = new BlockPool(c.headSize(), PagedKvCache.blockSizeFor(c.contextLength()), budgetBytes, type);
        AtomicLong blockBytes = new AtomicLong(), liveBytes = new AtomicLong(), preempted = new AtomicLong();
        LongAccumulator peak = new LongAccumulator(Math::max, 0);
        SchedulerObserver observer = new SchedulerObserver() {
            @Override
            public void cacheAtFinish(long block, long live) {
                blockBytes.addAndGet(block);
                liveBytes.addAndGet(live);
                peak.accumulate(block);
            }

            @Override
            public void preempted() {
                preempted.incrementAndGet();
            }
        };
        int running = Math.min(n, 256);
        Scheduler scheduler = new Scheduler(
                "savings",
                model.model(),
                model.tokenizer(),
                model::isEndOfGeneration,
                pool,
                new Scheduler.Options(Math.max(256, running), running, n, Duration.ZERO),
                observer,
                cache);
        CountDownLatch done = new CountDownLatch(n);
        AtomicLong failures = new AtomicLong(), cutShort = new AtomicLong();
        long start = System.nanoTime();
        try {
            for (int i = 0; i < n; i++) {
                int maxTokens = workload.requests().get(i).maxTokens();
                SequenceListener listener = new SequenceListener() {
                    @Override
                    public void onToken(TokenEvent token) {}

                    @Override
                    public void onFinish(FinishReason reason, int promptTokens, int completionTokens) {
                        if (reason == FinishReason.ERROR || reason == FinishReason.ABORT) {
                            failures.incrementAndGet();
                        } else if (completionTokens < maxTokens) {
                            cutShort.incrementAndGet(); // alone, it outgrew the whole budget
                        }
                        done.countDown();
                    }
                };
                try {
                    scheduler.submit(new SequenceRequest(
                            prompts.get(i),
                            new SamplingParams(0f, 0, 1f, 0f, 0),
                            maxTokens,
                            List.of(),
                            -1,
                            true,
                            listener));
                } catch (RequestTooLargeException e) {
                    throw new IllegalArgumentException(
                            "the KV budget of " + budgetBytes + " bytes is too small for a"
                                    + " single request of this workload: " + e.getMessage(),
                            e);
                }
            }
            done.await();
        } finally {
            scheduler.shutdown(Duration.ZERO);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (cutShort.get() > 0) {
            throw new IllegalArgumentException("the KV budget of " + budgetBytes + " bytes is too small for a single"
                    + " request of this workload with the " + cache.label() + " cache (" + cutShort.get()
                    + " ended early): give a larger budget");
        }
        if (failures.get() > 0) {
            throw new IllegalStateException(
                    failures.get() + " of " + n + " sequences failed with the " + cache.label() + " cache");
        }
        SchedulerStats stats = scheduler.stats();
        long peakBytes = peak.get();
        return new CacheRun(
                cache.label(),
                n,
                blockBytes.get() / (double) n,
                peakBytes,
                liveBytes.get() / (double) n,
                peakBytes == 0 ? 0 : budgetBytes / peakBytes,
                stats.peakRunning(),
                stats.meanRunning(),
                preempted.get(),
                stats.generatedTokens(),
                seconds);
    }
}
