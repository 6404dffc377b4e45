package dev.kvslim.serve.schedule;

import java.util.List;

/**
 * One generated token.
 *
 * @param token    its id
 * @param text     text that became final with it (UTF-8 complete, stop strings cut); may be empty
 * @param logprobs its log probability and the most likely alternatives, or null when not asked for
 */
public record TokenEvent(int token, String text, TokenLogprobs logprobs) {

    /**
     * Log probabilities under the model's distribution (before temperature and truncation), as vLLM returns them.
     *
     * @param piece   the token's own text
     * @param logprob its log probability
     * @param top     the most likely tokens at this step, best first
     */
    public record TokenLogprobs(String piece, float logprob, List<Candidate> top) {}

    /** One alternative of {@link TokenLogprobs#top}. */
    public record Candidate(int token, String piece, float logprob) {}
}
