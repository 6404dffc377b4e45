package dev.kvslim.cli;

import dev.kvslim.core.chat.ChatMessage;
import dev.kvslim.core.chat.ChatTemplate;
import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.generate.Generator;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.LlamaConfig;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * An interactive chat in the terminal: each line read is a user turn, the model's reply streams to stdout. The
 * conversation is rendered with the model's chat template every turn and only what follows the tokens already in
 * the KV cache is run again.
 */
@Command(
        name = "chat",
        mixinStandardHelpOptions = true,
        description =
                "Chat with a model in the terminal (one line per turn; /reset starts over, /exit or end of input ends).")
final class ChatCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            required = true,
            description = "A model with a chat template: a Hugging Face folder or a GGUF file.")
    Path model;

    @Option(names = "--tokenizer", description = "Tokenizer to use instead of the model's own.")
    Path tokenizer;

    @Option(names = "--system", description = "A system message to start the conversation with.")
    String system;

    @Option(
            names = "--max-tokens",
            defaultValue = "1024",
            description = "Most tokens per reply (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Mixin
    SamplingOptions sampling;

    @Option(
            names = "--no-think",
            description = "Ask a reasoning model (Qwen3) to answer without thinking first (enable_thinking=false).")
    boolean noThink;

    @Mixin
    KvCacheOptions kv;

    @Override
    public Integer call() throws IOException {
        LoadedModel loaded = ModelLoader.load(model, tokenizer);
        ChatTemplate template = loaded.chatTemplate();
        if (template == null) {
            throw new IllegalArgumentException(model + " has no chat template; use generate for plain text completion");
        }
        LlamaConfig c = loaded.model().config();
        BlockPool pool = new BlockPool(
                c.headSize(),
                PagedKvCache.blockSizeFor(c.contextLength()),
                kv.budget(BlockPool.defaultBudget(4)),
                kv.type());
        KvCacheSpec.Paged spec = kv.pagedSpec(c.kvShape());
        spec.requireNoReplay("chat");
        PagedKvCache cache = spec.newCache(c.kvShape(), pool, c.contextLength());
        Generator generator = new Generator(loaded.model(), loaded.tokenizer(), loaded::isEndOfGeneration);
        Generator.Options options =
                new Generator.Options(maxTokens, sampling.resolve(loaded.generation(), 0.7f), List.of(), false, 64);
        Map<String, Object> variables = noThink ? Map.of("enable_thinking", false) : Map.of();

        List<ChatMessage> messages = new ArrayList<>();
        if (system != null) {
            messages.add(new ChatMessage("system", system));
        }
        int[] cached = new int[0];
        PrintStream out = System.out;
        PrintStream err = System.err;
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        while (true) {
            err.print("> ");
            err.flush();
            String line = in.readLine();
            if (line == null || line.strip().equals("/exit")) {
                break;
            }
            if (line.strip().equals("/reset")) {
                messages.subList(system != null ? 1 : 0, messages.size()).clear();
                cache.truncate(0);
                cached = new int[0];
                continue;
            }
            messages.add(new ChatMessage("user", line));
            int[] prompt = loaded.tokenizer().encode(template.render(messages, true, variables), false);
            int reuse = commonPrefix(cached, prompt);
            if (reuse < cached.length) {
                try {
                    cache.truncate(reuse);
                } catch (IllegalStateException compressedPastIt) {
                    cache.truncate(0);
                    reuse = 0;
                }
            }
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            Generator.Result r = generator.generate(prompt, reuse, options, cache, (b, off, len) -> {
                out.write(b, off, len);
                out.flush();
                reply.write(b, off, len);
            });
            out.println();
            messages.add(new ChatMessage("assistant", reply.toString(StandardCharsets.UTF_8)));
            cached = r.cachedTokens();
            err.printf(
                    "[%d prompt tokens, %d reused; %d generated at %.1f tokens/s; KV %,d bytes %s, compression %.2fx]%n",
                    prompt.length,
                    reuse,
                    r.generated().length,
                    r.decodeTokensPerSecond(),
                    cache.bytesUsed(),
                    cache.type(),
                    cache.compressionRatio());
        }
        cache.release();
        return 0;
    }

    private static int commonPrefix(int[] a, int[] b) {
        int n = Arrays.mismatch(a, b);
        return n < 0 ? Math.min(a.length, b.length) : n;
    }
}
