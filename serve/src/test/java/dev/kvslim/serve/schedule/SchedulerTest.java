package dev.kvslim.serve.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.generate.Generator;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.sample.SamplingParams;
import dev.kvslim.core.testing.Fixtures;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Continuous batching on stories260K: same tokens as generating alone, admission, preemption, cancellation. */
class SchedulerTest {

    private static final String[] PROMPTS = {
        "Once upon a time", "The little dog", "Lily and Ben went to the park", "One day",
        "There was a big red ball that", "Tom liked to", "The sun was", "A girl named Sue",
    };

    private static LoadedModel stories;
    private Scheduler scheduler;
    private final java.util.concurrent.atomic.AtomicInteger preemptions =
            new java.util.concurrent.atomic.AtomicInteger();

    @BeforeAll
    static void load() {
        stories =
                ModelLoader.load(Fixtures.path("stories260K/stories260K.bin"), Fixtures.path("stories260K/tok512.bin"));
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (scheduler != null) {
            scheduler.shutdown(Duration.ZERO);
        }
    }

    private Scheduler start(long budgetBytes, Scheduler.Options options) {
        return start(
                budgetBytes, PagedKvCache.blockSizeFor(stories.model().config().contextLength()), options);
    }

    private Scheduler start(long budgetBytes, int blockSize, Scheduler.Options options) {
        BlockPool pool = new BlockPool(stories.model().config().headSize(), blockSize, budgetBytes);
        scheduler = new Scheduler(
                "test",
                stories.model(),
                stories.tokenizer(),
                stories::isEndOfGeneration,
                pool,
                options,
                new SchedulerObserver() {
                    @Override
                    public void preempted() {
                        preemptions.incrementAndGet();
                    }
                });
        return scheduler;
    }

    private static int[] prompt(String text) {
        return stories.tokenizer().encode(text, true);
    }

    private static SequenceRequest greedy(String text, int maxTokens, SequenceListener listener) {
        return new SequenceRequest(prompt(text), SamplingParams.GREEDY, maxTokens, List.of(), -1, false, listener);
    }

    /** What the single-sequence generator makes of a prompt. */
    private static int[] alone(String text, int maxTokens) {
        Generator g = new Generator(stories.model(), stories.tokenizer(), stories::isEndOfGeneration);
        int[] p = prompt(text);
        return g.generate(
                        p,
                        Generator.Options.greedy(maxTokens),
                        stories.model().newDenseCache(p.length + maxTokens),
                        (b, off, len) -> {})
                .generated();
    }

    /** Greedy tokens with end-of-generation tokens fed back like any other (as ignore_eos does). */
    private static int[] aloneIgnoringEos(String text, int maxTokens) {
        Generator g = new Generator(stories.model(), stories.tokenizer(), id -> false);
        int[] p = prompt(text);
        return g.generate(
                        p,
                        Generator.Options.greedy(maxTokens),
                        stories.model().newDenseCache(p.length + maxTokens),
                        (b, off, len) -> {})
                .generated();
    }

    @Test
    void concurrentSequencesGenerateWhatEachGeneratesAlone() throws Exception {
        Scheduler s = start(1L << 26, new Scheduler.Options(16, 8, 16, Duration.ZERO));
        List<Collector> out = new ArrayList<>();
        for (String p : PROMPTS) {
            Collector c = new Collector();
            s.submit(greedy(p, 60, c));
            out.add(c);
        }
        for (int i = 0; i < PROMPTS.length; i++) {
            FinishReason reason = out.get(i).await();
            int[] expected = alone(PROMPTS[i], 60);
            int[] got = out.get(i).tokenArray();
            // an end-of-generation token is reported as the last event but is not part of the text
            if (reason == FinishReason.STOP) {
                assertThat(stories.isEndOfGeneration(got[got.length - 1])).isTrue();
                got = java.util.Arrays.copyOf(got, got.length - 1);
            } else {
                assertThat(reason).isEqualTo(FinishReason.LENGTH);
            }
            assertThat(got).as(PROMPTS[i]).containsExactly(expected);
        }
        awaitEmptyPool(s);
    }

    /** The warm-up's sequence gives its blocks back and changes nothing the requests after it get. */
    @Test
    void warmUpLeavesThePoolEmptyAndRequestsUnchanged() throws Exception {
        Scheduler s = start(1L << 26, new Scheduler.Options(16, 8, 16, Duration.ZERO));
        assertThat(s.warmUp(12, 5)).isPositive();
        assertThat(s.pool().usedBlocks()).isZero();
        Collector c = new Collector();
        s.submit(greedy(PROMPTS[0], 20, c));
        FinishReason reason = c.await();
        int[] got = c.tokenArray();
        if (reason == FinishReason.STOP) {
            got = java.util.Arrays.copyOf(got, got.length - 1);
        }
        assertThat(got).containsExactly(alone(PROMPTS[0], 20));
        awaitEmptyPool(s);
    }

    @Test
    void aDmsModelGetsTheDmsCacheAndGeneratesWhatItGeneratesAlone() throws Exception {
        dev.kvslim.core.model.Model dms =
                dev.kvslim.core.testing.DmsAdapters.withAdapter(stories.model(), 4, false, false);
        BlockPool pool = new BlockPool(
                dms.config().headSize(), PagedKvCache.blockSizeFor(dms.config().contextLength()), 1L << 26);
        java.util.concurrent.atomic.AtomicLong evicted = new java.util.concurrent.atomic.AtomicLong();
        scheduler = new Scheduler(
                "dms",
                dms,
                stories.tokenizer(),
                id -> false,
                pool,
                new Scheduler.Options(16, 8, 16, Duration.ZERO),
                new SchedulerObserver() {
                    @Override
                    public void evicted(long entries) {
                        evicted.addAndGet(entries);
                    }
                });
        assertThat(scheduler.usesDms()).isTrue();
        List<Collector> out = new ArrayList<>();
        for (String p : PROMPTS) {
            Collector c = new Collector();
            scheduler.submit(greedy(p, 40, c));
            out.add(c);
        }
        Generator alone = new Generator(dms, stories.tokenizer(), id -> false);
        for (int i = 0; i < PROMPTS.length; i++) {
            out.get(i).await();
            int[] p = prompt(PROMPTS[i]);
            PagedKvCache cache = new PagedKvCache(
                    dms.config().kvShape(),
                    new BlockPool(
                            dms.config().headSize(),
                            PagedKvCache.blockSizeFor(dms.config().contextLength()),
                            1L << 24),
                    p.length + 40,
                    KvCacheSpec.dms(dms.config().kvShape()));
            int[] expected = alone.generate(p, Generator.Options.greedy(40), cache, (b, off, len) -> {})
                    .generated();
            assertThat(out.get(i).tokenArray()).as(PROMPTS[i]).containsExactly(expected);
        }
        assertThat(evicted.get()).isPositive();
        awaitEmptyPool(scheduler);
    }

    @Test
    void aTightBudgetPreemptsAndRecomputesWithoutChangingTheText() throws Exception {
        // small blocks, so caches grow block by block, and room for three whole sequences of 110 tokens: eight short
        // prompts are
        // admitted at once, then outgrow the budget and must be preempted
        int block = dev.kvslim.core.tensor.Kernels.lanes();
        var cfg = stories.model().config();
        long perSequence =
                2L * cfg.layers() * cfg.kvHeads() * cfg.headSize() * Float.BYTES * block * ((110 + block - 1) / block);
        long budget = 3 * perSequence;
        Scheduler s = start(budget, block, new Scheduler.Options(32, 8, 16, Duration.ZERO));
        List<Collector> out = new ArrayList<>();
        for (String p : PROMPTS) {
            Collector c = new Collector();
            s.submit(new SequenceRequest(prompt(p), SamplingParams.GREEDY, 100, List.of(), -1, true, c));
            out.add(c);
        }
        for (int i = 0; i < PROMPTS.length; i++) {
            assertThat(out.get(i).await()).isEqualTo(FinishReason.LENGTH);
            assertThat(out.get(i).tokens).hasSize(100);
        }
        SchedulerStats stats = s.stats();
        assertThat(stats.peakUsedBytes()).isLessThanOrEqualTo(budget).isGreaterThan(budget / 2);
        assertThat(preemptions.get()).isPositive();
        // and every sequence still generated what it generates alone
        for (int i = 0; i < PROMPTS.length; i++) {
            int[] expected = aloneIgnoringEos(PROMPTS[i], 100);
            assertThat(out.get(i).tokenArray()).as(PROMPTS[i]).containsExactly(expected);
        }
        awaitEmptyPool(s);
    }

    @Test
    void cancellingFreesTheBlocks() throws Exception {
        Scheduler s = start(1L << 26, new Scheduler.Options(16, 4, 4, Duration.ofMillis(2)));
        Collector c = new Collector();
        Sequence seq = s.submit(
                new SequenceRequest(prompt("Once upon a time"), SamplingParams.GREEDY, 400, List.of(), -1, true, c));
        while (c.events.size() < 3) {
            Thread.sleep(1);
        }
        assertThat(s.pool().usedBlocks()).isPositive();
        seq.cancel();
        assertThat(c.await()).isEqualTo(FinishReason.ABORT);
        assertThat(c.completionTokens).isLessThan(400);
        awaitEmptyPool(s);
    }

    @Test
    void aFullQueueRefusesAndAnOversizedPromptIsRejected() throws Exception {
        Scheduler s = start(1L << 26, new Scheduler.Options(16, 1, 1, Duration.ofMillis(5)));
        Collector a = new Collector(), b = new Collector();
        Sequence first =
                s.submit(new SequenceRequest(prompt("One day"), SamplingParams.GREEDY, 400, List.of(), -1, true, a));
        while (a.events.isEmpty()) {
            Thread.sleep(1);
        }
        Sequence second = s.submit(greedy("The sun was", 5, b)); // waits: one running at most
        assertThatThrownBy(() -> s.submit(greedy("Tom liked to", 5, new Collector())))
                .isInstanceOf(QueueFullException.class)
                .hasMessageContaining("queue of 1");
        int[] huge = new int[600];
        java.util.Arrays.fill(huge, 1);
        assertThatThrownBy(() -> s.submit(
                        new SequenceRequest(huge, SamplingParams.GREEDY, 1, List.of(), -1, false, new Collector())))
                .isInstanceOf(RequestTooLargeException.class)
                .hasMessageContaining("context of 512");
        first.cancel();
        assertThat(b.await()).isIn(FinishReason.STOP, FinishReason.LENGTH);
        second.cancel(); // after it finished: nothing happens
        awaitEmptyPool(s);
    }

    @Test
    void aPromptBeyondTheBudgetIsRejected() {
        Scheduler s = start(
                PagedKvCache.blockSizeFor(stories.model().config().contextLength()) * 2L * 8 * 4 * 5 * 4,
                Scheduler.Options.DEFAULTS);
        int[] p = new int[300];
        java.util.Arrays.fill(p, 1);
        assertThatThrownBy(() -> s.submit(
                        new SequenceRequest(p, SamplingParams.GREEDY, 1, List.of(), -1, false, new Collector())))
                .isInstanceOf(RequestTooLargeException.class)
                .hasMessageContaining("exceed the KV budget");
    }

    @Test
    void stopStringsCutTheTextAndSeedsRepeat() throws Exception {
        Scheduler s = start(1L << 26, Scheduler.Options.DEFAULTS);
        String full = run(s, "Once upon a time", SamplingParams.GREEDY, List.of());
        String stop = full.substring(10, 14);
        String cut = run(s, "Once upon a time", SamplingParams.GREEDY, List.of(stop));
        assertThat(cut).isEqualTo(full.substring(0, full.indexOf(stop)));
        SamplingParams seeded = new SamplingParams(1f, 0, 1f, 0f, 42);
        String a = run(s, "Lily", seeded, List.of());
        String b = run(s, "Lily", seeded, List.of());
        String c = run(s, "Lily", new SamplingParams(1f, 0, 1f, 0f, 43), List.of());
        assertThat(a).isEqualTo(b).isNotEqualTo(c);
    }

    @Test
    void logprobsAreALogSoftmaxWithTheChosenTokenFirstWhenGreedy() throws Exception {
        Scheduler s = start(1L << 26, Scheduler.Options.DEFAULTS);
        Collector c = new Collector();
        s.submit(new SequenceRequest(prompt("Once upon a time"), SamplingParams.GREEDY, 5, List.of(), 3, true, c));
        c.await();
        for (TokenEvent e : c.events) {
            assertThat(e.logprobs().top()).hasSize(3);
            assertThat(e.logprobs().top().getFirst().token()).isEqualTo(e.token());
            assertThat(e.logprobs().logprob())
                    .isNegative()
                    .isEqualTo(e.logprobs().top().getFirst().logprob());
            assertThat(e.logprobs().top().get(1).logprob())
                    .isLessThanOrEqualTo(e.logprobs().top().get(0).logprob());
        }
    }

    private static String run(Scheduler s, String prompt, SamplingParams sampling, List<String> stop) throws Exception {
        Collector c = new Collector();
        s.submit(new SequenceRequest(prompt(prompt), sampling, 60, stop, -1, true, c));
        c.await();
        return c.text.toString();
    }

    static void awaitEmptyPool(Scheduler s) throws InterruptedException {
        for (int i = 0; i < 5000 && s.pool().usedBlocks() > 0; i++) {
            Thread.sleep(1);
        }
        assertThat(s.pool().usedBlocks()).isZero();
    }
}
