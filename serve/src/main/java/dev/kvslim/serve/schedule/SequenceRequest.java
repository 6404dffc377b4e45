package dev.kvslim.serve.schedule;

import dev.kvslim.core.constrain.Grammar;
import dev.kvslim.core.sample.LogitBias;
import dev.kvslim.core.sample.SamplingParams;
import java.util.List;
import java.util.Objects;

/**
 * What one sequence should generate: the prompt as token ids, how to sample, when to stop, and who hears about it.
 * An API request with {@code n > 1} submits n of these, which share nothing.
 *
 * @param prompt      prompt token ids (at least one)
 * @param sampling    sampling settings, seed included; the sequence gets its own sampler
 * @param maxTokens   most tokens to generate (at least 1)
 * @param stop        generation ends before the first of these strings, which is not returned
 * @param topLogprobs -1 for no log probabilities, 0 for the chosen token's only, k for it and the k most likely
 * @param ignoreEos   keep generating past end-of-generation tokens (vLLM's {@code ignore_eos})
 * @param listener    receives the tokens and the end, on the engine thread
 * @param grammar     the text must be a sentence of this grammar (structured output), or null for free text
 * @param logitBias   added to the logits before sampling (OpenAI's {@code logit_bias})
 */
public record SequenceRequest(
        int[] prompt,
        SamplingParams sampling,
        int maxTokens,
        List<String> stop,
        int topLogprobs,
        boolean ignoreEos,
        SequenceListener listener,
        Grammar grammar,
        LogitBias logitBias) {

    /** A request for free text (no grammar). */
    public SequenceRequest(
            int[] prompt,
            SamplingParams sampling,
            int maxTokens,
            List<String> stop,
            int topLogprobs,
            boolean ignoreEos,
            SequenceListener listener) {
        this(prompt, sampling, maxTokens, stop, topLogprobs, ignoreEos, listener, null, LogitBias.NONE);
    }

    public SequenceRequest {
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(logitBias, "logitBias");
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, got " + maxTokens);
        }
        if (topLogprobs < -1) {
            throw new IllegalArgumentException("top logprobs must be -1 (none) or more, got " + topLogprobs);
        }
        stop = List.copyOf(stop);
        prompt = prompt.clone();
    }
}
