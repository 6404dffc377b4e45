package dev.kvslim.serve.savings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.testing.DmsAdapters;
import dev.kvslim.core.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The savings report on stories260K retrofitted with a random DMS adapter (which evicts about half the tokens). */
class SavingsReportTest {

    private static LoadedModel dms;

    @BeforeAll
    static void load() {
        LoadedModel plain =
                ModelLoader.load(Fixtures.path("stories260K/stories260K.bin"), Fixtures.path("stories260K/tok512.bin"));
        dms = new LoadedModel(
                plain.path(),
                plain.format(),
                DmsAdapters.withAdapter(plain.model(), 8, false, false),
                plain.tokenizer(),
                plain.generation(),
                null);
    }

    private static Workload small() {
        return new Workload(
                "test",
                List.of(
                        new Workload.Request("Once upon a time", 200),
                        new Workload.Request("The little dog", 120),
                        new Workload.Request("One day", 250),
                        new Workload.Request("Tom liked to", 90),
                        new Workload.Request("The sun was", 180),
                        new Workload.Request("A girl named Sue", 240)));
    }

    @Test
    void dmsKeepsFewerBytesPerSequenceAndFitsMoreThanTheUncompressedCache() throws Exception {
        Workload w = small();
        long budget = SavingsReport.defaultBudget(dms, w, 2, KvType.F32);
        SavingsReport r = SavingsReport.measure(
                dms, w, KvCacheSpec.dms(dms.model().config().kvShape()), budget, KvType.F32);
        CacheRun c = r.compressed(), u = r.baseline();
        int asked = w.requests().stream().mapToInt(Workload.Request::maxTokens).sum();
        assertThat(c.generatedTokens()).isEqualTo(asked);
        assertThat(u.generatedTokens()).isEqualTo(asked);
        assertThat(c.cache()).isEqualTo("dms");
        assertThat(u.cache()).isEqualTo("none");
        assertThat(c.meanLiveBytes()).isLessThan(0.8 * u.meanLiveBytes());
        assertThat(c.meanBlockBytes()).isLessThanOrEqualTo(u.meanBlockBytes());
        assertThat(u.peakBlockBytes()).isLessThanOrEqualTo(budget);
        assertThat(u.fitSequences()).isEqualTo(budget / u.peakBlockBytes()).isGreaterThanOrEqualTo(2);
        assertThat(c.fitSequences()).isGreaterThanOrEqualTo(u.fitSequences());
        String table = r.format(2.0);
        assertThat(table)
                .contains(
                        "KV bytes per sequence, mean",
                        "sequences that fit the budget",
                        "throughput (generated tokens/s)",
                        "cost per 1M tokens at $2.00/h",
                        "dms",
                        "none");
        // at $3,600 an hour a second costs $1: a million tokens cost 1e6 / (tokens per second), up to rounding
        assertThat(SavingsReport.costPerMillion(c, 3600))
                .isCloseTo(1e6 / c.tokensPerSecond(), org.assertj.core.data.Percentage.withPercentage(1e-9));
    }

    @Test
    void aBudgetTooSmallForOneRequestIsRefusedClearly() {
        var c = dms.model().config();
        long oneBlockPerHead = (long) c.layers()
                * c.kvHeads()
                * BlockPool.blockBytes(c.headSize(), PagedKvCache.blockSizeFor(c.contextLength()), KvType.F32);
        Workload longer = new Workload(
                "longer",
                List.of(new Workload.Request("Once upon a time", PagedKvCache.blockSizeFor(c.contextLength()) + 10)));
        // the prompt fits one block per head, the whole sequence does not
        assertThatThrownBy(() -> CacheRun.run(dms, longer, KvCacheSpec.keepAll(), oneBlockPerHead, KvType.F32))
                .hasMessageContaining("too small for a single request");
        // nor does the prompt
        assertThatThrownBy(() -> CacheRun.run(dms, longer, KvCacheSpec.keepAll(), oneBlockPerHead / 2, KvType.F32))
                .hasMessageContaining("too small for a single request");
    }

    @Test
    void workloadFilesAreJsonLinesAndErrorsNameTheLine(@TempDir Path dir) throws Exception {
        Path ok = dir.resolve("ok.jsonl");
        Files.writeString(
                ok,
                "# two requests\n{\"prompt\": \"Once upon a time\", \"max_tokens\": 64}\n\n"
                        + "{\"prompt\": \"One day\", \"max_tokens\": 8}\n");
        assertThat(Workload.read(ok).requests())
                .containsExactly(new Workload.Request("Once upon a time", 64), new Workload.Request("One day", 8));
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"prompt\": \"x\", \"max_tokens\": 64}\n{\"prompt\": \"y\", \"max_tokens\": 0}\n");
        assertThatThrownBy(() -> Workload.read(bad))
                .hasMessageContaining("line 2")
                .hasMessageContaining("max_tokens");
        Files.writeString(bad, "{\"text\": \"x\"}\n");
        assertThatThrownBy(() -> Workload.read(bad))
                .hasMessageContaining("line 1")
                .hasMessageContaining("prompt");
        Files.writeString(bad, "{\"prompt\": \"x\", \"max_tokens\": 100000}\n");
        assertThatThrownBy(() -> CacheRun.prompts(dms, Workload.read(bad))).hasMessageContaining("context of 512");
        assertThat(Workload.builtIn().requests()).hasSize(32);
    }
}
