package dev.kvslim.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A short load test for correctness only (its speed is the benchmark's business): 8 streaming clients for 3 s on
 * stories260K with a random DMS adapter, in a queue small enough that some are refused; every answer must be whole
 * and right, refusals proper 503s, no block left behind and the budget never exceeded, with either cache.
 */
class ServeLoadBenchmarkTest {

    @Test
    void everyRequestCompletesCorrectlyOrIsRefusedWithinTheBudget() throws Exception {
        LoadedModel plain =
                ModelLoader.load(Fixtures.path("stories260K/stories260K.bin"), Fixtures.path("stories260K/tok512.bin"));
        LoadedModel dms = new LoadedModel(
                plain.path(),
                plain.format(),
                RandomDms.retrofit(plain.model(), 2, Arena.ofAuto()),
                plain.tokenizer(),
                plain.generation(),
                null);
        var options = new ServeLoadBenchmark.Options(
                8, Duration.ofSeconds(3), ServeLoadBenchmark.defaultBudget(dms, 8, 3), 3, 2, 4);
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        List<ServeLoadBenchmark.Result> results = ServeLoadBenchmark.compare(
                dms,
                KvCacheSpec.dms(dms.model().config().kvShape()),
                options,
                new PrintStream(text, true, StandardCharsets.UTF_8));
        String report = text.toString(StandardCharsets.UTF_8);
        assertThat(results).extracting(ServeLoadBenchmark.Result::cache).containsExactly("dms", "none");
        for (ServeLoadBenchmark.Result r : results) {
            assertThat(r.correct()).as(report).isTrue();
            assertThat(r.completed()).as(report).isPositive();
            assertThat(r.disconnected()).as(report).isPositive();
            assertThat(r.refused()).as(report).isPositive(); // 8 clients, 3 running + 2 waiting
            assertThat(r.peakUsedBytes()).as(report).isPositive().isLessThanOrEqualTo(r.budgetBytes());
            assertThat(r.ttft()).isNotEmpty();
        }
        assertThat(report).contains("TTFT p50 / p99 (ms)", "inter-token p50 / p99 (ms)", "throughput (tokens/s)");
    }

    @Test
    void clientsHaveDistinctPromptsOfMixedLengths() {
        Set<String> prompts = new HashSet<>();
        Set<Integer> lengths = new HashSet<>();
        for (int i = 0; i < 256; i++) {
            prompts.add(ServeLoadBenchmark.prompt(i));
            lengths.add(ServeLoadBenchmark.prompt(i).length() / 50);
        }
        assertThat(prompts).hasSize(256);
        assertThat(lengths.size()).isGreaterThan(2);
        assertThat(ServeLoadBenchmark.percentile(new double[] {1, 2, 3, 4}, 50)).isEqualTo(2);
        assertThat(ServeLoadBenchmark.percentile(new double[] {1, 2, 3, 4}, 99)).isEqualTo(4);
    }
}
