package dev.kvslim.serve.savings;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.LlamaConfig;
import java.util.List;
import java.util.Locale;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * What KV compression saves on one workload: the same requests run with a compressing cache (DMS, or a named baseline
 * policy) and with the uncompressed one, in the same KV budget, side by side: KV bytes per sequence, how many
 * sequences fit the budget, throughput, and what a million generated tokens cost at a price per hour.
 *
 * @param model       the model's path, for the heading
 * @param workload    the workload's name
 * @param budgetBytes the KV budget both ran in
 * @param type        the element type both stored keys and values in
 * @param bytesPerToken bytes of keys and values a token takes uncompressed in {@code type}, every layer and KV head
 * @param compressed  the compressing cache's run
 * @param baseline    the uncompressed cache's run
 */
public record SavingsReport(
        String model,
        String workload,
        long budgetBytes,
        KvType type,
        long bytesPerToken,
        CacheRun compressed,
        CacheRun baseline) {

    /**
     * Runs {@code workload} with {@code compressed} and with the uncompressed cache, one after the other, after a short
     * warm-up of each, both storing keys and values as {@code type}.
     */
    public static SavingsReport measure(
            LoadedModel model, Workload workload, KvCacheSpec.Paged compressed, long budgetBytes, KvType type)
            throws InterruptedException {
        if (!compressed.evicts()) {
            throw new IllegalArgumentException(
                    "compare a compressing cache (DMS or a policy) with the uncompressed one," + " not "
                            + compressed.label());
        }
        CacheRun.prompts(model, workload); // a workload that does not fit the model fails before anything runs
        // warm-up: the first few requests with each cache, so that neither side pays for the JIT
        Workload warmUp = new Workload(
                "warm-up",
                workload.requests().subList(0, Math.min(4, workload.requests().size())));
        CacheRun.run(model, warmUp, compressed, budgetBytes, type);
        CacheRun.run(model, warmUp, KvCacheSpec.keepAll(), budgetBytes, type);
        CacheRun c = CacheRun.run(model, workload, compressed, budgetBytes, type);
        CacheRun u = CacheRun.run(model, workload, KvCacheSpec.keepAll(), budgetBytes, type);
        return new SavingsReport(
                model.path().toString(),
                workload.name(),
                budgetBytes,
                type,
                model.model().config().kvBytesPerToken(type),
                c,
                u);
    }

    /**
     * A budget that fits {@code sequences} uncompressed sequences of the workload's longest request with keys and values
     * in {@code type}: tight enough that compression shows in throughput.
     */
    public static long defaultBudget(LoadedModel model, Workload workload, int sequences, KvType type) {
        List<int[]> prompts = CacheRun.prompts(model, workload);
        int longest = 0;
        for (int i = 0; i < prompts.size(); i++) {
            longest = Math.max(
                    longest, prompts.get(i).length + workload.requests().get(i).maxTokens());
        }
        return sequences * uncompressedBytes(model.model().config(), longest, type);
    }

    /** Bytes in blocks of the model's size and of {@code type} that an uncompressed sequence of {@code tokens} holds. */
    public static long uncompressedBytes(LlamaConfig c, int tokens, KvType type) {
        return c.kvShape().blockBytesFor(tokens, PagedKvCache.blockSizeFor(c.contextLength()), type);
    }

    /** The report as a table; with {@code pricePerHour} > 0 it adds the cost per million generated tokens. */
    public String format(double pricePerHour) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(
                Locale.ROOT,
                "KV savings of %s on %s%nworkload: %s, %d requests; KV budget %,d bytes of %s keys and values"
                        + " (%,d bytes a token uncompressed)%n%n",
                compressed.cache(),
                model,
                workload,
                compressed.sequences(),
                budgetBytes,
                type,
                bytesPerToken));
        String head =
                String.format(Locale.ROOT, "%-34s %16s %16s %10s%n", "", compressed.cache(), baseline.cache(), "ratio");
        out.append(head);
        row(out, "KV bytes per sequence, mean", compressed.meanBlockBytes(), baseline.meanBlockBytes(), true);
        row(
                out,
                "KV bytes per sequence, peak",
                (double) compressed.peakBlockBytes(),
                (double) baseline.peakBlockBytes(),
                true);
        row(out, "kept K/V bytes per sequence, mean", compressed.meanLiveBytes(), baseline.meanLiveBytes(), true);
        row(
                out,
                "sequences that fit the budget",
                (double) compressed.fitSequences(),
                (double) baseline.fitSequences(),
                false);
        row(out, "most sequences running at once", compressed.peakRunning(), baseline.peakRunning(), false);
        row(out, "sequences running, mean over steps", compressed.meanRunning(), baseline.meanRunning(), false);
        row(out, "preemptions", (double) compressed.preemptions(), (double) baseline.preemptions(), null);
        row(out, "throughput (generated tokens/s)", compressed.tokensPerSecond(), baseline.tokensPerSecond(), false);
        if (pricePerHour > 0) {
            row(
                    out,
                    String.format(Locale.ROOT, "cost per 1M tokens at $%.2f/h", pricePerHour),
                    costPerMillion(compressed, pricePerHour),
                    costPerMillion(baseline, pricePerHour),
                    true);
        }
        out.append(String.format(
                Locale.ROOT,
                "%n(ratio: uncompressed over %s for bytes and cost, %s over uncompressed"
                        + " otherwise; bytes in blocks are what the budget is charged)%n",
                compressed.cache(),
                compressed.cache()));
        return out.toString();
    }

    /**
     * The report as one JSON object: the settings, then for the compressing cache (under its name, e.g. {@code dms})
     * and for {@code uncompressed} the figures of the table, in snake case.
     */
    public String toJson(double pricePerHour) {
        ObjectNode root = JsonMapper.builder().build().createObjectNode();
        root.put("model", model);
        root.put("workload", workload);
        root.put("requests", compressed.sequences());
        root.put("kv_budget_bytes", budgetBytes);
        root.put("kv_type", type.toString());
        root.put("kv_bytes_per_token", bytesPerToken);
        runJson(root.putObject(compressed.cache()), compressed, pricePerHour);
        runJson(root.putObject("uncompressed"), baseline, pricePerHour);
        return root.toString();
    }

    private static void runJson(ObjectNode o, CacheRun r, double pricePerHour) {
        o.put("cache", r.cache());
        o.put("sequences_fit", r.fitSequences());
        o.put("max_running", r.peakRunning());
        o.put("mean_running", r.meanRunning());
        o.put("tokens_per_s", r.tokensPerSecond());
        o.put("generated_tokens", r.generatedTokens());
        o.put("seconds", r.seconds());
        o.put("preemptions", r.preemptions());
        o.put("kv_bytes_per_sequence_mean", r.meanBlockBytes());
        o.put("kv_bytes_per_sequence_peak", r.peakBlockBytes());
        o.put("kept_kv_bytes_per_sequence_mean", r.meanLiveBytes());
        if (pricePerHour > 0) {
            o.put("cost_per_million_tokens", costPerMillion(r, pricePerHour));
        }
    }

    /** Dollars per million generated tokens at {@code pricePerHour}. */
    public static double costPerMillion(CacheRun run, double pricePerHour) {
        return pricePerHour / (run.tokensPerSecond() * 3600) * 1e6;
    }

    /** A row of figures; the ratio column is omitted when {@code lowerIsBetter} is null. */
    private static void row(StringBuilder out, String name, double compressed, double baseline, Boolean lowerIsBetter) {
        boolean whole = compressed == Math.rint(compressed) && baseline == Math.rint(baseline) && compressed < 1e15;
        String c = whole
                ? String.format(Locale.ROOT, "%,d", (long) compressed)
                : String.format(Locale.ROOT, "%,.2f", compressed);
        String b = whole
                ? String.format(Locale.ROOT, "%,d", (long) baseline)
                : String.format(Locale.ROOT, "%,.2f", baseline);
        double ratio =
                lowerIsBetter == null ? Double.NaN : lowerIsBetter ? baseline / compressed : compressed / baseline;
        String r = Double.isFinite(ratio) ? String.format(Locale.ROOT, "%.2fx", ratio) : "";
        out.append(String.format(Locale.ROOT, "%-34s %16s %16s %10s%n", name, c, b, r));
    }
}
