package dev.kvslim.cli;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.generate.Generator;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.EvictionPolicy;
import dev.kvslim.core.kv.KvBudget;
import dev.kvslim.core.kv.KvPolicies;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.sample.SamplingParams;
import dev.kvslim.core.tensor.Parallel;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Text generation: stdout carries only the text, streamed; statistics go to stderr. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a prompt. Only the text goes to stdout; statistics go to stderr.")
final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--model", required = true,
            description = "Model: a Hugging Face folder, a GGUF file, or a llama2.c checkpoint.")
    Path model;

    @Option(names = "--tokenizer", description = "Tokenizer: llama2.c tokenizer.bin or a GGUF vocabulary"
            + " (default: the GGUF's own, or tokenizer.bin beside a llama2.c checkpoint).")
    Path tokenizer;

    @Option(names = "--prompt", defaultValue = "", description = "Prompt text (default: empty, i.e. BOS only).")
    String prompt;

    @Option(names = "--max-tokens", defaultValue = "256", description = "Most new tokens (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--stop", description = "Stop before this string (repeatable).")
    List<String> stop = new ArrayList<>();

    @Option(names = "--echo", description = "Print the prompt before the generated text, as llama2.c's run.c does.")
    boolean echo;

    @Option(names = "--batch", defaultValue = "64", description = "Prompt tokens per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--kv-policy", defaultValue = "auto",
            description = "KV cache: none (keep every token), dms (the model's learned eviction), a training-free"
                    + " baseline (streaming, h2o, tova, snapkv, knorm, random; needs --kv-ratio or --kv-budget), or auto"
                    + " (dms when the model was retrofitted with DMS, else the plain dense cache). Default: ${DEFAULT-VALUE}.")
    String kvPolicy;

    @Option(names = "--kv-ratio", description = "Target compression ratio of a baseline: keep ceil(seen / R) tokens per head.")
    Double kvRatio;

    @Option(names = "--kv-budget", description = "Token budget per (layer, KV head) of a baseline.")
    Integer kvBudget;

    @Option(names = "--kv-window", description = "DMS window w to use instead of the model's.")
    Integer kvWindow;

    @Option(names = "--kv-type", defaultValue = "f32",
            description = "Element type of cached keys and values: f32, or f16 / bf16 (rounded to nearest even, half the"
                    + " bytes; with --kv-policy auto on a model without DMS they select the paged cache)."
                    + " Default: ${DEFAULT-VALUE}.")
    String kvType;

    /** The cache --kv-policy asks for, sized for {@code positions}, storing {@code type}. */
    private KvCache newCache(LoadedModel loaded, int positions, KvType type) {
        LlamaConfig c = loaded.model().config();
        String policy = kvPolicy.equals("auto") ? (c.dms() != null ? "dms" : type == KvType.F32 ? "dense" : "none")
                : kvPolicy;
        if (kvWindow != null && !policy.equals("dms")) {
            throw new IllegalArgumentException("--kv-window sets the DMS window; it needs --kv-policy dms");
        }
        if ((kvRatio != null || kvBudget != null) && List.of("dense", "none", "dms").contains(policy)) {
            throw new IllegalArgumentException("--kv-ratio and --kv-budget set a baseline's budget; --kv-policy " + policy
                    + " has none");
        }
        return switch (policy) {
            case "dense" -> loaded.model().newDenseCache(positions);
            case "none", "dms" -> {
                LlamaConfig cc = c;
                if (policy.equals("dms")) {
                    if (c.dms() == null) {
                        throw new IllegalArgumentException(loaded.path() + " was not retrofitted with DMS: --kv-policy dms"
                                + " needs dms_* settings in its config");
                    }
                    if (kvWindow != null) {
                        cc = c.withDms(new DmsConfig(kvWindow, c.dms().scale(), c.dms().offset(), c.dms().variant(),
                                c.dms().perLayer()));
                    }
                }
                yield new PagedKvCache(cc, pool(c, type), positions, policy.equals("dms"));
            }
            default -> {
                if (kvRatio == null == (kvBudget == null)) {
                    throw new IllegalArgumentException("--kv-policy " + policy + " needs one of --kv-ratio and --kv-budget");
                }
                KvBudget budget = kvRatio != null ? KvBudget.ofRatio(kvRatio) : KvBudget.ofTokens(kvBudget);
                EvictionPolicy evict;
                try {
                    evict = KvPolicies.of(policy, budget);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(e.getMessage() + ", dms, auto");
                }
                yield new PagedKvCache(c, pool(c, type), positions, evict);
            }
        };
    }

    private static BlockPool pool(LlamaConfig c, KvType type) {
        return new BlockPool(c.headSize(), PagedKvCache.defaultBlockSize(), Runtime.getRuntime().maxMemory() / 2, type);
    }

    @Override
    public Integer call() {
        PrintStream err = System.err;
        LoadedModel loaded = ModelLoader.load(model, tokenizer);
        LlamaConfig c = loaded.model().config();
        SamplingParams params = sampling.resolve(loaded.generation(), 1f);
        int[] tokens = loaded.tokenizer().encode(prompt, true);
        if (tokens.length == 0) {
            throw new IllegalArgumentException("the prompt encodes to no tokens and the vocabulary has no BOS to start from");
        }
        if (maxTokens < 0) {
            throw new IllegalArgumentException("--max-tokens must be >= 0, got " + maxTokens);
        }
        KvType type = KvType.parse(kvType);
        long positions = (long) tokens.length + maxTokens;
        long cacheBytes = positions * c.kvBytesPerToken(type.bytes());
        long heap = Runtime.getRuntime().maxMemory();
        if (cacheBytes > heap / 2 || positions > Integer.MAX_VALUE / Math.max(1, c.kvDim())) {
            throw new IllegalArgumentException(String.format("a KV cache for %d prompt + %d new tokens needs %,d bytes,"
                    + " more than half the %,d-byte heap: lower --max-tokens (or raise -Xmx through KVSLIM_JAVA_OPTS)",
                    tokens.length, maxTokens, cacheBytes, heap));
        }
        if (positions > c.contextLength()) {
            err.printf("kvslim: warning: %d positions exceed the model's trained context of %d%n", positions, c.contextLength());
        }
        KvCache cache = newCache(loaded, (int) positions, type);
        Generator generator = new Generator(loaded.model(), loaded.tokenizer(), loaded::isEndOfGeneration);
        PrintStream out = System.out;
        Generator.Result r = generator.generate(tokens,
                new Generator.Options(maxTokens, params, stop, echo, batch), cache, (b, off, len) -> {
                    out.write(b, off, len);
                    out.flush();
                });
        out.write('\n');
        out.flush();
        err.printf("model: %s (%s), %d threads%n", loaded.path(), loaded.format(), Parallel.threads());
        err.printf("prompt: %d tokens, prefill %.1f tokens/s%n", tokens.length, r.prefillTokensPerSecond());
        err.printf("generated: %d tokens (%s), decode %.1f tokens/s%n", r.generated().length,
                r.stopReason().name().toLowerCase(java.util.Locale.ROOT), r.decodeTokensPerSecond());
        long uncompressed = (long) r.cachedPositions() * c.kvBytesPerToken(type.bytes());
        if (cache instanceof PagedKvCache paged) {
            String policy = !kvPolicy.equals("auto") ? kvPolicy : c.dms() != null ? "dms" : "none";
            err.printf("kv cache: %s, compression %.2fx; %,d bytes of live %s keys and values (%,d in blocks) against"
                            + " %,d uncompressed%n", policy, paged.compressionRatio(), paged.liveBytes(), type,
                    paged.bytesUsed(), uncompressed);
            paged.release();
        } else {
            err.printf("kv cache: %d bytes (dense F32, %d bytes per token)%n", r.kvBytes(), c.kvBytesPerToken(Float.BYTES));
        }
        if (params.temperature() > 0) {
            err.printf("sampling: temperature %s, top-k %d, top-p %s, min-p %s, seed %d%n", params.temperature(),
                    params.topK(), params.topP(), params.minP(), params.seed());
        }
        return 0;
    }
}
