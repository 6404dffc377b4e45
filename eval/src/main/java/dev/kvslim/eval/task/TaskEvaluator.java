package dev.kvslim.eval.task;

import dev.kvslim.core.generate.BatchStep;
import dev.kvslim.core.generate.ContextReplay;
import dev.kvslim.core.generate.Decoding;
import dev.kvslim.core.generate.Generation;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.sample.SamplingParams;
import dev.kvslim.core.tokenizer.Tokenizer;
import dev.kvslim.eval.result.KvTrace;
import dev.kvslim.tasks.Sample;
import dev.kvslim.tasks.Split;
import dev.kvslim.tasks.Task;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.IntPredicate;

/**
 * Exact-match accuracy of a model on a task's held-out samples under one KV-cache setting.
 *
 * <p>Each sample's BOS + prompt is prefilled in one forward pass into a fresh cache of the setting (so an eviction
 * policy sees the whole prompt before it first evicts, as kvpress compresses after prefill; from then on it evicts
 * after every decode step), then the model decodes greedily until it writes the task's terminator {@code "\n"}, an
 * end-of-generation token, or the target's length plus a margin (and never past the context); the task's scorer
 * judges the text's final answer.
 *
 * <p><b>Majority vote.</b> With {@code votes > 1} every sample is generated {@code votes} times, sampled at
 * {@code temperature} (each generation its own cache and its own random stream, seeded by run seed, sample and vote),
 * and the sample counts as solved when the most frequent answer among its generations is right ({@link Task#answerOf};
 * generations that give none do not vote; a tie goes to the answer that reached the tied count first). This is the DMS paper's second hyper-scaling axis: parallel generations cost
 * {@code votes} caches at once, so a compressed cache affords more of them in the same memory.
 *
 * <p>Samples decode together: up to {@code lanes} samples are in flight, each with its own cache, and every decode
 * step is one batched {@link Model#forward(Model.State, List)} over all of them; a finished sample's lane takes the
 * next sample at once (its prompt prefilled alone). Batching turns the decode step's matrix-vector products into
 * matrix-matrix products, which is most of the speed on a small model.
 *
 * <p><b>Seeds.</b> Sample {@code n} of a run with seed {@code s} is the task's sample at
 * {@link #sampleSeed(long, int) Split.EVAL.seed(s * 2^20 + n)}: held-out seeds only, the same samples for every cache
 * setting (so settings are compared on paired samples), and runs with different seeds share none.
 */
public final class TaskEvaluator {

    /**
     * @param context context length the samples are made for, and the caches' capacity
     * @param samples samples per task
     * @param seed    run seed (see the class comment); also seeds the {@code random} policy
     * @param lanes   samples decoded together
     * @param margin  tokens allowed beyond the target's length
     * @param kvType  element type of the cached keys and values
     * @param votes   generations per sample, combined by majority vote (1: a single generation)
     * @param temperature sampling temperature of the generations (0: greedy, which needs {@code votes == 1})
     */
    public record Settings(
            int context, int samples, long seed, int lanes, int margin, KvType kvType, int votes, float temperature) {
        /** One greedy generation per sample. */
        public Settings(int context, int samples, long seed, int lanes, int margin, KvType kvType) {
            this(context, samples, seed, lanes, margin, kvType, 1, 0f);
        }

        public Settings {
            if (votes < 1) {
                throw new IllegalArgumentException("--votes must be at least 1, got " + votes);
            }
            if (!(temperature >= 0) || Float.isInfinite(temperature)) {
                throw new IllegalArgumentException("--temperature must be >= 0, got " + temperature);
            }
            if (votes > 1 && temperature == 0) {
                throw new IllegalArgumentException("--votes " + votes + " needs a --temperature above 0: greedy"
                        + " generations of one prompt are all the same, so a vote among them decides nothing");
            }
            if (context < 2) {
                throw new IllegalArgumentException("the context must be at least 2 tokens, got " + context);
            }
            if (samples < 1) {
                throw new IllegalArgumentException("--samples must be at least 1, got " + samples);
            }
            if (seed < 0 || seed >= 1L << 40) {
                throw new IllegalArgumentException("--seed must be in [0, 2^40), got " + seed);
            }
            if (lanes < 1) {
                throw new IllegalArgumentException("--lanes must be at least 1, got " + lanes);
            }
            if (margin < 0) {
                throw new IllegalArgumentException("the length margin must be >= 0, got " + margin);
            }
        }
    }

    /** Samples a run seed may have before it would reach the next seed's samples. */
    public static final int SAMPLES_PER_SEED = 1 << 20;

    private final Model model;
    private final Tokenizer tokenizer;
    private final IntPredicate endOfGeneration;
    private final Settings settings;

    /**
     * @throws IllegalArgumentException if the tokenizer has no BOS or EOS token (task samples are BOS + prompt and
     *                                  the model ends its answer with EOS), or samples exceed the per-seed range
     */
    public TaskEvaluator(Model model, Tokenizer tokenizer, IntPredicate endOfGeneration, Settings settings) {
        if (tokenizer.bosId() < 0 || tokenizer.eosId() < 0) {
            throw new IllegalArgumentException("task evaluation needs a tokenizer with BOS and EOS tokens (samples are"
                    + " BOS + prompt, answers end with EOS); this one has " + (tokenizer.bosId() < 0 ? "no BOS" : "")
                    + (tokenizer.bosId() < 0 && tokenizer.eosId() < 0 ? " and " : "")
                    + (tokenizer.eosId() < 0 ? "no EOS" : ""));
        }
        if (settings.samples() > SAMPLES_PER_SEED) {
            throw new IllegalArgumentException(
                    "--samples must be at most " + SAMPLES_PER_SEED + ", got " + settings.samples());
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.endOfGeneration = endOfGeneration;
        this.settings = settings;
    }

    /** The seed of sample {@code n} of a run with seed {@code runSeed}: {@code Split.EVAL.seed(runSeed * 2^20 + n)}. */
    public static long sampleSeed(long runSeed, int n) {
        return Split.EVAL.seed(runSeed * SAMPLES_PER_SEED + n);
    }

    public Settings settings() {
        return settings;
    }

    /** The samples of {@code task} this evaluator runs, in order. */
    public List<Sample> samples(Task task) {
        List<Sample> out = new ArrayList<>(settings.samples());
        for (int n = 0; n < settings.samples(); n++) {
            out.add(task.generate(sampleSeed(settings.seed(), n), settings.context()));
        }
        return out;
    }

    /**
     * Runs one short sample of {@code task} under each of {@code specs} and forgets it: the first run of a JVM pays
     * for compiling the kernels (the vector code is very slow until it is compiled), which would otherwise land in
     * the first measured run's decode speed.
     */
    public void warmUp(Task task, List<KvCacheSpec.Paged> specs) {
        int context = Math.min(settings.context(), WARM_UP_CONTEXT);
        TaskEvaluator shorter = new TaskEvaluator(
                model,
                tokenizer,
                endOfGeneration,
                new Settings(
                        context,
                        Math.min(settings.lanes(), 2),
                        settings.seed(),
                        settings.lanes(),
                        settings.margin(),
                        settings.kvType(),
                        1,
                        settings.temperature()));
        for (KvCacheSpec.Paged spec : specs) {
            shorter.run(task, spec);
        }
    }

    private static final int WARM_UP_CONTEXT = 256;

    /** Evaluates {@code task} under {@code spec}. */
    public TaskRun run(Task task, KvCacheSpec.Paged spec) {
        return run(task.name(), samples(task), task, spec);
    }

    /**
     * The random stream of generation {@code vote} of sample {@code n} in a run with seed {@code runSeed}: the same for
     * every cache setting, so settings are compared on the same draws as far as their logits agree.
     */
    public static long samplingSeed(long runSeed, int n, int vote) {
        long z = (runSeed * SAMPLES_PER_SEED + n) * 0x9E3779B97F4A7C15L
                + vote * 0xBF58476D1CE4E5B9L
                + 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Prompt tokens run through the model since this evaluator was made (votes that fork a cache run none). */
    long prefilledTokens;

    /** Evaluates {@code samples} (of {@code task}) under {@code spec}. */
    public TaskRun run(String taskName, List<Sample> samples, Task task, KvCacheSpec.Paged spec) {
        long wallStart = System.nanoTime();
        LlamaConfig c = model.config();
        int capacity = settings.context();
        int votes = settings.votes();
        int generations = samples.size() * votes;
        int lanes = Math.min(settings.lanes(), generations);
        int blockSize = PagedKvCache.blockSizeFor(capacity);
        // KVzip replays each prompt after it: room for its instruction and a chunk beyond the context
        int[] instruction = spec.replaysContext() ? ContextReplay.instruction(tokenizer) : null;
        int room = instruction == null ? 0 : ContextReplay.room(instruction);
        // a block per head beyond the capacity: DMS may hold a batch's tokens before it evicts
        BlockPool pool = new BlockPool(
                c.headSize(),
                blockSize,
                lanes * c.kvShape().blockBytesFor(capacity + room + blockSize, blockSize, settings.kvType()),
                settings.kvType());
        Model.State state = model.newState(Math.max(capacity, lanes));

        SampleOutcome[] outcomes = new SampleOutcome[generations];
        KvTrace[] trace = {null};
        List<Lane> active = new ArrayList<>(lanes);
        int next = 0;
        long prefillNanos = 0, decodeNanos = 0, decoded = 0;
        while (next < generations || !active.isEmpty()) {
            List<Lane> still = new ArrayList<>(lanes);
            BiConsumer<Lane, float[]> step = (lane, logits) -> {
                lane.observe();
                if (lane.decode(logits) == null) {
                    still.add(lane);
                } else {
                    outcomes[lane.index] = lane.finish(task);
                    trace[0] = lane.index == 0 ? lane.trace() : trace[0];
                }
            };
            // a new lane's prompt runs alone, in one pass; the sample's next votes, while lanes are free, fork its
            // cache (sharing the prompt's blocks) and sample from its logits; then one batched decode step over every
            // lane
            while (active.size() + still.size() < lanes && next < generations) {
                int first = next;
                Lane lane = lane(
                        next,
                        samples.get(next / votes),
                        spec.newCache(c.kvShape(), pool, capacity + room),
                        sampler(next / votes, next % votes),
                        0);
                next++;
                BatchStep.Plan<Lane> prefill = BatchStep.plan(List.of(lane), capacity);
                long t0 = System.nanoTime();
                float[][] logits = BatchStep.forward(model, state, prefill);
                if (instruction != null) { // in a state of its own: the prompt's logits stay
                    ContextReplay.run(model, lane.cache(), lane.tokens(), lane.length(), instruction);
                }
                prefillNanos += System.nanoTime() - t0;
                prefilledTokens += prefill.chunks().getFirst().len();
                List<Lane> forks = new ArrayList<>();
                while (next < generations
                        && next / votes == first / votes
                        && active.size() + still.size() + 1 + forks.size() < lanes
                        && lane.pending() == 0
                        && lane.cache().canFork()) {
                    forks.add(lane(
                            next,
                            samples.get(next / votes),
                            lane.cache().fork(),
                            sampler(next / votes, next % votes),
                            lane.promptLength()));
                    next++;
                }
                float[] shared = forks.isEmpty() ? null : logits[0].clone();
                BatchStep.ready(prefill, logits, step);
                for (Lane f : forks) {
                    step.accept(f, shared.clone());
                }
            }
            active.addAll(still);
            if (active.isEmpty()) {
                continue;
            }
            still.clear();
            BatchStep.Plan<Lane> plan = BatchStep.plan(active, active.size());
            long t0 = System.nanoTime();
            float[][] logits = BatchStep.forward(model, state, plan);
            decodeNanos += System.nanoTime() - t0;
            decoded += plan.sequences().size();
            BatchStep.ready(plan, logits, step);
            active = new ArrayList<>(still);
        }
        return new TaskRun(
                taskName,
                spec,
                Arrays.asList(outcomes),
                votes,
                settings.temperature(),
                prefillNanos,
                decodeNanos,
                decoded,
                System.nanoTime() - wallStart,
                trace[0]);
    }

    private Sampler sampler(int n, int vote) {
        SamplingParams params = settings.temperature() == 0
                ? SamplingParams.GREEDY
                : new SamplingParams(settings.temperature(), 0, 1f, 0f, samplingSeed(settings.seed(), n, vote));
        return new Sampler(params, model.config().vocabSize());
    }

    /**
     * A new lane: BOS + the sample's prompt in {@code cache} (which holds its first {@code cached} tokens: a fork of
     * another vote's), to be answered up to the task's terminator, at most the
     * target's length plus the margin.
     */
    private Lane lane(int index, Sample sample, PagedKvCache cache, Sampler sampler, int cached) {
        int[] body = tokenizer.encode(sample.prompt(), false);
        int[] prompt = new int[body.length + 1];
        prompt[0] = tokenizer.bosId();
        System.arraycopy(body, 0, prompt, 1, body.length);
        int context = settings.context(); // a KVzip cache has room beyond it for its replay, not for the answer
        if (prompt.length >= context) {
            cache.release();
            throw new IllegalArgumentException(sample.task() + " seed " + sample.seed() + ": BOS + prompt is "
                    + prompt.length + " tokens, which leaves no room to answer in a context of " + context);
        }
        int maxNew = tokenizer.encode(sample.target(), false).length + settings.margin();
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        // the answer ends at the task's terminator; the last token sampled is never fed, so it needs no room
        Decoding decoding = new Decoding(
                sampler,
                tokenizer,
                endOfGeneration,
                List.of(Sample.TERMINATOR),
                prompt,
                maxNew,
                context + 1,
                text::write);
        return new Lane(index, sample, prompt, maxNew, text, decoding, cache, cached);
    }

    /** One generation in flight: its tokens, cache and {@link Decoding}, and what it wrote. */
    private static final class Lane extends Generation<PagedKvCache> {
        final int index;
        final Sample sample;
        final ByteArrayOutputStream text;
        long peak;
        final int[] traceGenerated;
        final long[] traceBytes;
        int tracePoints;

        Lane(
                int index,
                Sample sample,
                int[] prompt,
                int maxNew,
                ByteArrayOutputStream text,
                Decoding decoding,
                PagedKvCache cache,
                int cached) {
            super(prompt, maxNew, decoding);
            this.index = index;
            this.sample = sample;
            this.text = text;
            attach(cache, cached);
            traceGenerated = index == 0 ? new int[maxNew + 1] : null;
            traceBytes = index == 0 ? new long[maxNew + 1] : null;
        }

        /** Notes the cache's live bytes after a forward pass. */
        void observe() {
            long live = cache().liveBytes();
            peak = Math.max(peak, live);
            if (traceBytes != null && tracePoints < traceBytes.length) {
                traceGenerated[tracePoints] = decoding().count();
                traceBytes[tracePoints++] = live;
            }
        }

        /** How the generation ended, in the task's words. */
        SampleOutcome.Stop stop() {
            return switch (decoding().stopReason()) {
                // the evaluator decodes no grammar; a finished one would be an end of generation
                case END_OF_GENERATION, GRAMMAR_COMPLETE -> SampleOutcome.Stop.END_OF_GENERATION;
                case STOP_STRING -> SampleOutcome.Stop.TERMINATOR;
                case LENGTH -> SampleOutcome.Stop.LENGTH;
            };
        }

        SampleOutcome finish(Task task) {
            SampleOutcome.Stop stop = stop();
            // the text up to its terminator, the terminator included
            String out = text.toString(StandardCharsets.UTF_8)
                    + (stop == SampleOutcome.Stop.TERMINATOR ? Sample.TERMINATOR : "");
            SampleOutcome o = new SampleOutcome(
                    sample,
                    promptLength(),
                    decoding().generated(),
                    out,
                    task.answerOf(out),
                    task.score(sample, out),
                    stop,
                    cache().compressionRatio(),
                    peak);
            cache().release();
            return o;
        }

        KvTrace trace() {
            return KvTrace.of(traceGenerated, traceBytes, tracePoints);
        }
    }
}
