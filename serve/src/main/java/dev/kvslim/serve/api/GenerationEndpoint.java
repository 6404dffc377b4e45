package dev.kvslim.serve.api;

import dev.kvslim.core.chat.ChatMessage;
import dev.kvslim.core.chat.ChatTemplate;
import dev.kvslim.core.chat.ChatTemplateException;
import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.hf.GenerationConfig;
import dev.kvslim.core.sample.LogitBias;
import dev.kvslim.core.sample.SamplingParams;
import dev.kvslim.serve.schedule.FinishReason;
import dev.kvslim.serve.schedule.QueueFullException;
import dev.kvslim.serve.schedule.RequestTooLargeException;
import dev.kvslim.serve.schedule.Sequence;
import dev.kvslim.serve.schedule.SequenceRequest;
import dev.kvslim.serve.schedule.TokenEvent;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}: checks the request, turns it into n sequences
 * for the model's scheduler, and answers with one JSON response or a stream of Server-Sent Events. Everything that can
 * be wrong with a request is found before anything is queued, so a bad request never reaches the engine; a client that
 * goes away mid-stream cancels its sequences, which frees their KV blocks at the engine's next step.
 */
final class GenerationEndpoint implements Handler {

    private final boolean chat;
    private final ApiContext context;

    private static final System.Logger LOG = System.getLogger(GenerationEndpoint.class.getName());
    /** How often a non-streaming request waiting for its answer checks that its client is still there. */
    static final long HEARTBEAT_MILLIS = 1000;
    /** How long a non-streaming answer may take before that check begins (until then the status can still change). */
    static final long HEARTBEAT_AFTER_NANOS = 2_000_000_000L;

    /** The header a balancer keeps a conversation on one replica by (deploy/haproxy/haproxy.cfg). */
    static final HeaderName SESSION_HEADER = HeaderNames.create("x-session-id");

    /** Tokens a completion generates when {@code max_tokens} is absent, as OpenAI and vLLM. */
    static final int DEFAULT_COMPLETION_TOKENS = 16;

    GenerationEndpoint(boolean chat, ApiContext context) {
        this.chat = chat;
        this.context = context;
    }

    @Override
    public void handle(ServerRequest req, ServerResponse res) throws IOException, InterruptedException {
        String key = ApiRoutes.authenticate(context, req);
        // a conversation's session id (which a consistent-hash balancer routes on) comes back with the answer
        req.headers()
                .first(SESSION_HEADER)
                .filter(v -> v.length() <= 256)
                .ifPresent(v -> res.header(SESSION_HEADER, v));
        GenerationParams p = GenerationParams.parse(ApiRoutes.body(context, req), chat);
        ServedModel model = context.model(p.model());
        if (!context.accepting().getAsBoolean()) {
            throw ApiException.overloaded("The server is shutting down.");
        }
        String chatText = chat ? chatText(model.loaded(), p.messages(), true, templateVariables(p)) : null;
        int[] prompt = chat
                ? model.loaded().tokenizer().encode(chatText, false)
                : model.loaded().tokenizer().encode(p.prompt(), true);
        if (prompt.length == 0) {
            throw ApiException.invalid(chat ? "messages" : "prompt", "The prompt encodes to no tokens.");
        }
        List<ChatOutput> outputs = new ArrayList<>();
        if (chat) {
            boolean thinks = model.loaded().chatTemplate().thinks();
            boolean openThinking = chatText.stripTrailing().endsWith(ChatOutput.THINK_OPEN);
            for (int i = 0; i < p.n(); i++) {
                outputs.add(new ChatOutput(
                        thinks, openThinking, p.tools().choice(), p.tools().named()));
            }
        }
        int window = model.loaded().model().config().contextLength();
        int maxTokens = maxTokens(p, prompt.length, window);
        ChoiceEvents events = new ChoiceEvents();
        List<Sequence> sequences = submit(model, p, prompt, maxTokens, events);
        String id = (chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().formatHex(randomBytes());
        ResponseShapes shapes = new ResponseShapes(chat, id, System.currentTimeMillis() / 1000, model.name());
        Usage usage = new Usage(prompt.length, sequences);
        try {
            if (p.stream()) {
                stream(res, p, shapes, events, usage, outputs);
            } else {
                respond(res, p, shapes, events, usage, outputs);
            }
        } finally {
            // a client gone mid-stream (or any failure here) cancels what is still running; finished ones ignore it
            sequences.forEach(Sequence::cancel);
            context.metrics().keyUsed(key, usage.prompt, usage.completion);
        }
    }

    /**
     * The tokens to generate: what was asked; without {@code max_tokens}, 16 for a completion (OpenAI's and vLLM's
     * default) and what the context leaves for a chat. As vLLM, a prompt that fills the context, or a
     * {@code max_tokens} beyond what it leaves, is a 400 (not silently shortened).
     */
    private int maxTokens(GenerationParams p, int promptTokens, int window) {
        String what = chat ? "messages" : "prompt";
        if (promptTokens >= window) {
            throw ApiException.invalid(
                    what,
                    "This model's maximum context length is " + window + " tokens. However,"
                            + " your " + what + " has " + promptTokens
                            + " tokens, which leaves no room to generate. Please"
                            + " shorten the " + what + ".");
        }
        if (p.maxTokens() == null) {
            return chat ? window - promptTokens : Math.min(DEFAULT_COMPLETION_TOKENS, window - promptTokens);
        }
        if ((long) promptTokens + p.maxTokens() > window) {
            throw ApiException.invalid(
                    p.maxTokensField(),
                    "This model's maximum context length is " + window
                            + " tokens. However, you requested " + ((long) promptTokens + p.maxTokens()) + " tokens ("
                            + promptTokens + " in the " + what + ", " + p.maxTokens()
                            + " in the completion). Please reduce"
                            + " the length of the " + what + " or " + p.maxTokensField() + ".");
        }
        return p.maxTokens();
    }

    /**
     * Completion counts as they arrive: a client that goes away is charged for what was generated. Cached prompt
     * tokens are those the first choice found in a kept cache (prefix caching), as OpenAI's
     * {@code prompt_tokens_details.cached_tokens}.
     */
    private static final class Usage {
        final int prompt;
        final List<Sequence> sequences;
        int completion;

        Usage(int prompt, List<Sequence> sequences) {
            this.prompt = prompt;
            this.sequences = sequences;
        }

        int cached() {
            return sequences.isEmpty() ? 0 : sequences.getFirst().reusedTokens();
        }

        /** The first choice's timings, as llama.cpp's server reports them. */
        Sequence.Timings timings() {
            return sequences.isEmpty()
                    ? new Sequence.Timings(0, 0, 0)
                    : sequences.getFirst().timings();
        }

        /** Tokens the first choice generated (completion tokens are all the choices'). */
        int firstChoiceTokens;
    }

    /** What the chat template sees beyond the messages: the tools, and the request's {@code chat_template_kwargs}. */
    private static Map<String, Object> templateVariables(GenerationParams p) {
        return templateVariables(p.tools().definitions(), p.templateKwargs());
    }

    static Map<String, Object> templateVariables(List<Object> tools, Map<String, Object> kwargs) {
        Map<String, Object> variables = new java.util.LinkedHashMap<>(kwargs);
        if (!tools.isEmpty()) {
            variables.put("tools", tools);
        }
        return variables;
    }

    /** The conversation rendered by the model's chat template; a 400 if it has none or the template refuses it. */
    static String chatText(
            LoadedModel loaded,
            List<ChatMessage> messages,
            boolean addGenerationPrompt,
            Map<String, Object> variables) {
        ChatTemplate template = loaded.chatTemplate();
        if (template == null) {
            throw ApiException.invalid(
                    "messages",
                    "The model has no chat template, so it cannot take chat messages:"
                            + " use /v1/completions with a prompt, or serve a model whose tokenizer_config.json (or GGUF)"
                            + " carries a chat_template.");
        }
        try {
            return template.render(messages, addGenerationPrompt, variables);
        } catch (ChatTemplateException e) {
            throw ApiException.invalid("messages", "The chat template rejected the messages: " + e.getMessage());
        }
    }

    private static SamplingParams sampling(GenerationConfig g, GenerationParams p, long seed) {
        boolean sample = g.doSample() == null || g.doSample();
        float temperature = p.temperature() != null
                ? p.temperature()
                : !sample ? 0f : g.temperature() != null ? g.temperature() : 1f;
        return new SamplingParams(
                temperature,
                p.topK() != null ? p.topK() : g.topK() != null ? g.topK() : 0,
                p.topP() != null ? p.topP() : g.topP() != null ? g.topP() : 1f,
                p.minP() != null ? p.minP() : g.minP() != null ? g.minP() : 0f,
                seed);
    }

    private static LogitBias logitBias(GenerationParams p, int vocabSize) {
        int[] ids = new int[p.logitBias().size()];
        float[] values = new float[ids.length];
        int i = 0;
        for (Map.Entry<Integer, Float> e : p.logitBias().entrySet()) {
            if (e.getKey() < 0 || e.getKey() >= vocabSize) {
                throw ApiException.invalid(
                        "logit_bias",
                        "logit_bias names token " + e.getKey() + ", outside the model's vocabulary of " + vocabSize
                                + ".");
            }
            ids[i] = e.getKey();
            values[i++] = e.getValue();
        }
        return new LogitBias(ids, values);
    }

    /** Queues the n sequences (choice i seeded with seed + i); if any is refused, cancels those already queued. */
    private List<Sequence> submit(
            ServedModel model, GenerationParams p, int[] prompt, int maxTokens, ChoiceEvents events) {
        long seed = p.seed() != null ? p.seed() : ThreadLocalRandom.current().nextLong();
        LogitBias bias = logitBias(p, model.loaded().model().config().vocabSize());
        List<SequenceRequest> requests = new ArrayList<>();
        for (int i = 0; i < p.n(); i++) {
            SamplingParams sampling = sampling(model.loaded().generation(), p, seed + i);
            requests.add(new SequenceRequest(
                    prompt,
                    sampling,
                    maxTokens,
                    p.stop(),
                    p.topLogprobs(),
                    p.ignoreEos(),
                    events.listener(i),
                    p.grammar(),
                    bias));
        }
        try {
            // all n or none; with prefix caching the prompt is computed once and its cache shared by the choices
            return model.scheduler().submitAll(requests);
        } catch (QueueFullException e) {
            throw ApiException.overloaded("The server is busy (" + e.getMessage() + "); retry later.");
        } catch (RequestTooLargeException e) {
            throw ApiException.tooLarge(chat ? "messages" : "prompt", e.getMessage());
        }
    }

    private void respond(
            ServerResponse res,
            GenerationParams p,
            ResponseShapes shapes,
            ChoiceEvents events,
            Usage usage,
            List<ChatOutput> outputs)
            throws InterruptedException {
        List<StringBuilder> texts = new ArrayList<>();
        List<List<TokenEvent>> logprobs = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        for (int i = 0; i < p.n(); i++) {
            texts.add(new StringBuilder());
            logprobs.add(p.topLogprobs() >= 0 ? new ArrayList<>() : null);
            reasons.add(null);
        }
        long start = System.nanoTime(), lastBeat = start;
        OutputStream body = null; // once the answer takes a while: the response, begun with whitespace
        for (int open = p.n(); open > 0; ) {
            ChoiceEvents.Event e = events.poll(HEARTBEAT_MILLIS);
            long now = System.nanoTime();
            if (now - start >= HEARTBEAT_AFTER_NANOS && now - lastBeat >= HEARTBEAT_MILLIS * 1_000_000) {
                lastBeat = now;
                // a client that went away is noticed only by writing to it: JSON may begin with whitespace, so a
                // space now and then costs nothing and fails once the connection is gone
                try {
                    if (body == null) {
                        res.header(HeaderNames.CONTENT_TYPE, "application/json");
                        body = res.outputStream();
                    }
                    body.write(' ');
                    body.flush();
                } catch (IOException | RuntimeException gone) {
                    LOG.log(
                            System.Logger.Level.INFO,
                            "the client of a " + (chat ? "chat" : "completion")
                                    + " request went away before its answer; cancelling it");
                    return;
                }
            }
            if (e == null) {
                continue;
            }
            switch (e) {
                case ChoiceEvents.Token t -> {
                    texts.get(t.choice()).append(t.token().text());
                    if (t.token().logprobs() != null) {
                        logprobs.get(t.choice()).add(t.token());
                    }
                }
                case ChoiceEvents.Finished f -> {
                    open--;
                    usage.completion += f.completionTokens();
                    if (f.choice() == 0) {
                        usage.firstChoiceTokens = f.completionTokens();
                    }
                    if (f.reason() == FinishReason.ERROR) {
                        ApiException error = new ApiException(
                                500, "server_error", null, null, "The engine failed while generating.", 0);
                        if (body == null) {
                            throw error;
                        }
                        // the 200 is sent: the body says it failed
                        writeQuietly(body, ResponseShapes.error(error).getBytes(StandardCharsets.UTF_8));
                        return;
                    }
                    reasons.set(f.choice(), f.reason().apiName());
                }
            }
        }
        if (!outputs.isEmpty() && outputs.getFirst().active()) {
            for (int i = 0; i < outputs.size(); i++) {
                outputs.get(i).feed(texts.get(i).toString());
                outputs.get(i).finish();
                reasons.set(i, outputs.get(i).finishReason(reasons.get(i)));
            }
        }
        byte[] answer = shapes.response(
                        texts.stream().map(StringBuilder::toString).toList(),
                        logprobs,
                        reasons,
                        usage.prompt,
                        usage.completion,
                        usage.cached(),
                        usage.timings(),
                        usage.firstChoiceTokens,
                        !outputs.isEmpty() && outputs.getFirst().active() ? outputs : null)
                .getBytes(StandardCharsets.UTF_8);
        if (body == null) {
            res.header(HeaderNames.CONTENT_TYPE, "application/json");
            res.send(answer);
        } else {
            writeQuietly(body, answer);
        }
    }

    /**
     * Streams the choices as vLLM does: for a chat, a first chunk per choice with the role; then a chunk per token with
     * text; each choice's last token shares its chunk with the finish reason; then the usage chunk if asked for, and
     * {@code [DONE]}. One token's event is held back per choice so that its chunk can carry the finish reason.
     */
    private void stream(
            ServerResponse res,
            GenerationParams p,
            ResponseShapes shapes,
            ChoiceEvents events,
            Usage usage,
            List<ChatOutput> outputs)
            throws InterruptedException {
        boolean parsed = !outputs.isEmpty() && outputs.getFirst().active();
        res.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        SseWriter sse = new SseWriter(res.outputStream());
        try {
            if (chat) {
                for (int i = 0; i < p.n(); i++) {
                    sse.data(shapes.chunk(i, "", true, null, null));
                }
            }
            TokenEvent[] held = new TokenEvent[p.n()];
            int[] offsets = new int[p.n()]; // where each choice's next text starts in its whole text
            for (int open = p.n(); open > 0; ) {
                ChoiceEvents.Event e = events.take();
                int i = e.choice();
                switch (e) {
                    case ChoiceEvents.Token t -> {
                        usage.completion++;
                        if (parsed) {
                            sendDeltas(
                                    sse,
                                    shapes,
                                    i,
                                    outputs.get(i).feed(t.token().text()),
                                    t.token());
                            break;
                        }
                        if (held[i] != null) {
                            offsets[i] += sendToken(sse, shapes, i, held[i], offsets[i], null);
                        }
                        held[i] = t.token();
                    }
                    case ChoiceEvents.Finished f -> {
                        open--;
                        if (i == 0) {
                            usage.firstChoiceTokens = f.completionTokens();
                        }
                        if (f.reason() == FinishReason.ERROR) {
                            break; // the stream ends without [DONE]: the client sees it cut short
                        }
                        if (parsed) {
                            ChatOutput out = outputs.get(i);
                            sendDeltas(sse, shapes, i, out.finish(), null);
                            sse.data(shapes.finishChunk(
                                    i, out.finishReason(f.reason().apiName())));
                            break;
                        }
                        TokenEvent last = held[i] != null ? held[i] : new TokenEvent(-1, "", null);
                        held[i] = null;
                        sendToken(sse, shapes, i, last, offsets[i], f.reason().apiName());
                    }
                }
            }
            if (p.includeUsage()) {
                sse.data(shapes.usageChunk(
                        usage.prompt, usage.completion, usage.cached(), usage.timings(), usage.firstChoiceTokens));
            }
            sse.done();
        } catch (IOException clientGone) {
            // the caller cancels the sequences; nothing more can be written
        }
    }

    /**
     * One token's chunk, its text starting at {@code offset} of the choice's whole text; returns the length of its text.
     * Text held back for a stop string makes no chunk of its own, unless log probabilities are due.
     */
    private static int sendToken(
            SseWriter sse, ResponseShapes shapes, int index, TokenEvent t, int offset, String finishReason)
            throws IOException {
        boolean logprobs = t.logprobs() != null;
        if (t.text().isEmpty() && !logprobs && finishReason == null) {
            return 0;
        }
        sse.data(shapes.chunk(index, t.text(), false, logprobs ? List.of(t) : null, offset, finishReason));
        return t.text().length();
    }

    /** A chunk per piece of a parsed chat message; the token's log probabilities ride on the first (or an empty one). */
    private static void sendDeltas(
            SseWriter sse, ResponseShapes shapes, int index, List<ChatOutput.Delta> deltas, TokenEvent token)
            throws IOException {
        List<TokenEvent> logprobs = token != null && token.logprobs() != null ? List.of(token) : null;
        if (deltas.isEmpty() && logprobs != null) {
            deltas = List.of(new ChatOutput.Content(""));
        }
        for (ChatOutput.Delta d : deltas) {
            sse.data(shapes.deltaChunk(index, d, logprobs));
            logprobs = null;
        }
    }

    /** Ends a response begun with whitespace; a client gone by now loses nothing it still waits for. */
    private static void writeQuietly(OutputStream body, byte[] bytes) {
        try {
            body.write(bytes);
            body.close();
        } catch (IOException | RuntimeException gone) {
            LOG.log(System.Logger.Level.INFO, "the client went away as its answer was written");
        }
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }
}
