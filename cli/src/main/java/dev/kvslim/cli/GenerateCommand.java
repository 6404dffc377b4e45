package dev.kvslim.cli;

import dev.kvslim.core.constrain.Grammar;
import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.generate.ContextReplay;
import dev.kvslim.core.generate.Generator;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvType;
import dev.kvslim.core.kv.PagedKvCache;
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
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = "Generate text from a prompt. Only the text goes to stdout; statistics go to stderr.")
final class GenerateCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            required = true,
            description = "Model: a Hugging Face folder, a GGUF file, or a llama2.c checkpoint.")
    Path model;

    @Option(
            names = "--tokenizer",
            description = "Tokenizer: llama2.c tokenizer.bin or a GGUF vocabulary"
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

    @Option(
            names = "--batch",
            defaultValue = "64",
            description = "Prompt tokens per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Mixin
    KvCacheOptions kv;

    @Mixin
    StructuredOutputOptions structured;

    @Override
    public Integer call() {
        PrintStream err = System.err;
        LoadedModel loaded = ModelLoader.load(model, tokenizer);
        LlamaConfig c = loaded.model().config();
        SamplingParams params = sampling.resolve(loaded.generation(), 1f);
        Grammar grammar = structured.grammar();
        int[] tokens = loaded.tokenizer().encode(prompt, true);
        if (tokens.length == 0) {
            throw new IllegalArgumentException(
                    "the prompt encodes to no tokens and the vocabulary has no BOS to start from");
        }
        if (maxTokens < 0) {
            throw new IllegalArgumentException("--max-tokens must be >= 0, got " + maxTokens);
        }
        KvType type = kv.type();
        KvCacheSpec spec = kv.spec(c.kvShape(), false);
        // KVzip replays the prompt after it before decoding: room for that too
        long positions = (long) tokens.length
                + Math.max(
                        maxTokens,
                        spec.replaysContext() ? ContextReplay.room(ContextReplay.instruction(loaded.tokenizer())) : 0);
        long cacheBytes = positions * c.kvBytesPerToken(type);
        long heap = Runtime.getRuntime().maxMemory();
        long left = BlockPool.heapLeft();
        long budget = kv.budget(BlockPool.defaultBudget(2));
        if (budget > heap / 2 || budget > left) {
            throw new IllegalArgumentException(String.format(
                    "--kv-budget %,d is more than half the %,d-byte heap or the %,d bytes the loaded weights leave:"
                            + " lower it (or raise -Xmx through KVSLIM_JAVA_OPTS)",
                    budget, heap, left));
        }
        if (positions > Integer.MAX_VALUE / Math.max(1, c.kvDim()) || cacheBytes > budget) {
            throw new IllegalArgumentException(String.format(
                    "a KV cache for %d prompt + %d new tokens needs %,d bytes,"
                            + " more than the %,d-byte KV budget (half the heap, or what the weights leave, unless --kv-budget says): lower --max-tokens"
                            + " (or raise -Xmx through KVSLIM_JAVA_OPTS)",
                    tokens.length, maxTokens, cacheBytes, budget));
        }
        if (positions > c.contextLength()) {
            err.printf(
                    "kvslim: warning: %d positions exceed the model's trained context of %d%n",
                    positions, c.contextLength());
        }
        BlockPool pool = spec instanceof KvCacheSpec.Paged
                ? new BlockPool(c.headSize(), PagedKvCache.blockSizeFor(c.contextLength()), budget, type)
                : null;
        KvCache cache = spec.newCache(c.kvShape(), pool, (int) positions);
        Generator generator = new Generator(loaded.model(), loaded.tokenizer(), loaded::isEndOfGeneration);
        PrintStream out = System.out;
        Generator.Result r = generator.generate(
                tokens, new Generator.Options(maxTokens, params, stop, echo, batch, grammar), cache, (b, off, len) -> {
                    out.write(b, off, len);
                    out.flush();
                });
        out.write('\n');
        out.flush();
        err.printf("model: %s (%s), %d threads%n", loaded.path(), loaded.format(), Parallel.threads());
        err.printf("prompt: %d tokens, prefill %.1f tokens/s%n", tokens.length, r.prefillTokensPerSecond());
        err.printf(
                "generated: %d tokens (%s), decode %.1f tokens/s%n",
                r.generated().length,
                r.stopReason().name().toLowerCase(java.util.Locale.ROOT),
                r.decodeTokensPerSecond());
        long uncompressed = (long) r.cachedPositions() * c.kvBytesPerToken(type);
        if (cache instanceof PagedKvCache paged) {
            err.printf(
                    "kv cache: %s, compression %.2fx; %,d bytes of live %s keys and values (%,d in blocks) against"
                            + " %,d uncompressed%n",
                    spec.label(), paged.compressionRatio(), paged.liveBytes(), type, paged.bytesUsed(), uncompressed);
            paged.release();
        } else {
            err.printf(
                    "kv cache: %d bytes (dense F32, %d bytes per token)%n", r.kvBytes(), c.kvBytesPerToken(KvType.F32));
        }
        if (params.temperature() > 0) {
            err.printf(
                    "sampling: temperature %s, top-k %d, top-p %s, min-p %s, seed %d%n",
                    params.temperature(), params.topK(), params.topP(), params.minP(), params.seed());
        }
        return 0;
    }
}
