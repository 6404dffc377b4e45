package dev.kvslim.cli;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.kv.KvBudget;
import dev.kvslim.core.kv.KvPolicies;
import dev.kvslim.serve.savings.SavingsReport;
import dev.kvslim.serve.savings.Workload;
import dev.kvslim.serve.schedule.CacheChoice;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What KV compression saves in serving: one workload through the server's scheduler, in process, with the DMS cache
 * (or a named baseline policy for a model without DMS) and with the uncompressed cache, side by side.
 */
@Command(name = "savings", mixinStandardHelpOptions = true,
        description = "Run a workload through the server's scheduler with the compressed KV cache (DMS, or --policy)"
                + " and with the uncompressed one in the same KV budget, and print KV bytes per sequence, how many"
                + " sequences fit, throughput and cost per million tokens side by side.")
final class SavingsCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "The model: a Hugging Face folder, a GGUF file, or a"
            + " llama2.c checkpoint.")
    Path model;

    @Option(names = "--tokenizer", description = "Tokenizer for a llama2.c checkpoint without tokenizer.bin beside it.")
    Path tokenizer;

    @Option(names = "--workload", description = "Requests to run, JSON Lines: {\"prompt\": \"...\", \"max_tokens\": 128}"
            + " a line (default: 32 built-in story prompts of 64 to 256 tokens).")
    Path workload;

    @Option(names = "--budget", description = "KV budget in bytes both caches run in (default: room for 8 uncompressed"
            + " sequences of the workload's longest request).")
    Long budget;

    @Option(names = "--price-per-hour", defaultValue = "1.0", description = "What the machine costs per hour, for the"
            + " cost per million tokens (default: ${DEFAULT-VALUE}).")
    double pricePerHour;

    @Option(names = "--policy", description = "Compare this training-free policy (streaming, h2o, tova, snapkv, knorm,"
            + " random) instead of DMS; needed for a model without DMS.")
    String policy;

    @Option(names = "--ratio", defaultValue = "4", description = "Compression ratio the --policy keeps to (default:"
            + " ${DEFAULT-VALUE}).")
    double ratio;

    /** The compressing cache: the policy asked for, else DMS, which the model must have. */
    CacheChoice compressedCache(LoadedModel loaded) {
        if (policy != null) {
            if (policy.equals("none")) {
                throw new IllegalArgumentException("--policy none does not compress: name a policy that evicts, one of "
                        + String.join(", ", KvPolicies.NAMES.subList(1, KvPolicies.NAMES.size())));
            }
            return CacheChoice.evicting(KvPolicies.of(policy, KvBudget.ofRatio(ratio)));
        }
        if (loaded.model().config().dms() == null) {
            throw new IllegalArgumentException(model + " has no DMS metadata (it was not retrofitted with DMS), so there"
                    + " is no DMS cache to measure: compare a training-free policy instead, e.g. --policy tova"
                    + " --ratio 4");
        }
        return CacheChoice.dmsCache();
    }

    @Override
    public Integer call() throws InterruptedException {
        if (!(pricePerHour >= 0)) {
            throw new IllegalArgumentException("--price-per-hour must be 0 or more, got " + pricePerHour);
        }
        LoadedModel loaded = ModelLoader.load(model, tokenizer);
        CacheChoice compressed = compressedCache(loaded);
        Workload w = workload != null ? Workload.read(workload) : Workload.builtIn();
        long b = budget != null ? budget : SavingsReport.defaultBudget(loaded, w, 8);
        if (b <= 0) {
            throw new IllegalArgumentException("--budget must be positive, got " + b);
        }
        System.err.printf("kvslim: running %d requests with the %s cache, then uncompressed, in %,d bytes of KV...%n",
                w.requests().size(), compressed.label(), b);
        System.out.print(SavingsReport.measure(loaded, w, compressed, b).format(pricePerHour));
        return 0;
    }
}
