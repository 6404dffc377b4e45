package dev.kvslim.serve.dashboard;

import dev.kvslim.serve.api.ServedModel;
import dev.kvslim.serve.schedule.SchedulerStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The recent past the dashboard charts: every interval it samples each served model's {@link SchedulerStats} into a
 * bounded ring (throughput from the generated-token count between samples, KV usage, compression ratios, sequences
 * running and waiting). Sampling on its own clock, not on page loads, gives every viewer the same history and costs
 * nothing but a copy of the latest stats per interval.
 */
public final class DashboardHistory implements AutoCloseable {

    /** One model's state at one moment. */
    record Sample(
            double epochSeconds,
            double tokensPerSecond,
            double kvUsage,
            double compressionRatio,
            double lifetimeCompressionRatio,
            int running,
            int waiting) {}

    private final List<ServedModel> models;
    private final Duration interval;
    private final int capacity;
    private final List<ArrayList<Sample>> samples = new ArrayList<>();
    private final long[] lastGenerated;
    private final long[] lastNanos;
    private final ScheduledExecutorService clock;

    /** Samples {@code models} every {@code interval}, keeping the latest {@code capacity} samples of each. */
    public DashboardHistory(List<ServedModel> models, Duration interval, int capacity) {
        if (!interval.isPositive() || capacity < 1) {
            throw new IllegalArgumentException(
                    "the dashboard needs a positive interval and capacity: " + interval + ", " + capacity);
        }
        this.models = List.copyOf(models);
        this.interval = interval;
        this.capacity = capacity;
        this.lastGenerated = new long[models.size()];
        this.lastNanos = new long[models.size()];
        for (int i = 0; i < models.size(); i++) {
            samples.add(new ArrayList<>());
            lastGenerated[i] = models.get(i).scheduler().stats().generatedTokens();
            lastNanos[i] = System.nanoTime();
        }
        this.clock = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("kvslim-dashboard").daemon().factory());
        sample();
        var unused =
                clock.scheduleAtFixedRate(this::sample, interval.toNanos(), interval.toNanos(), TimeUnit.NANOSECONDS);
    }

    public List<ServedModel> models() {
        return models;
    }

    public Duration interval() {
        return interval;
    }

    /** Takes one sample of every model now. */
    synchronized void sample() {
        long now = System.nanoTime();
        double epoch = System.currentTimeMillis() / 1000.0;
        for (int i = 0; i < models.size(); i++) {
            SchedulerStats s = models.get(i).scheduler().stats();
            double seconds = (now - lastNanos[i]) / 1e9;
            double rate = seconds > 0 ? (s.generatedTokens() - lastGenerated[i]) / seconds : 0;
            lastGenerated[i] = s.generatedTokens();
            lastNanos[i] = now;
            List<Sample> ring = samples.get(i);
            if (ring.size() == capacity) {
                ring.removeFirst();
            }
            ring.add(new Sample(
                    epoch,
                    rate,
                    s.budgetBytes() == 0 ? 0 : s.usedBytes() / (double) s.budgetBytes(),
                    s.compressionRatio(),
                    s.lifetimeCompressionRatio(),
                    s.running(),
                    s.waiting()));
        }
    }

    /** The samples of the model at {@code index}, oldest first. */
    synchronized List<Sample> samples(int index) {
        return List.copyOf(samples.get(index));
    }

    @Override
    public void close() {
        clock.shutdownNow();
    }
}
