package dev.kvslim.eval.task;

import dev.kvslim.tasks.Sample;

/**
 * What one generation of a sample under one cache setting gave.
 *
 * @param sample           the held-out sample
 * @param promptTokens     tokens prefilled (BOS and the prompt)
 * @param generated        the tokens generated, the end-of-generation token excluded
 * @param text             their text
 * @param answer           the answer the text gives as the task reads it ({@link dev.kvslim.tasks.Task#answerOf};
 *                         "" for none)
 * @param correct          whether the task's scorer accepts the text's final answer
 * @param stop             why generation ended
 * @param compressionRatio the cache's compression ratio once generation ended
 * @param kvBytesPeak      the most live KV bytes the cache held after any forward pass of the sample
 */
public record SampleOutcome(
        Sample sample,
        int promptTokens,
        int[] generated,
        String text,
        String answer,
        boolean correct,
        Stop stop,
        double compressionRatio,
        long kvBytesPeak) {

    /** Why a generation ended: the terminator "\n", an end-of-generation token, or the length limit. */
    public enum Stop {
        TERMINATOR,
        END_OF_GENERATION,
        LENGTH
    }
}
