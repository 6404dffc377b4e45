package dev.kvslim.serve.schedule;

/**
 * Hears what one sequence generates. Called on the scheduler's engine thread, between steps: implementations hand
 * events on (to a queue the HTTP handler drains) and return at once, since every running sequence waits meanwhile.
 */
public interface SequenceListener {

    /** One generated token and the text it completes (possibly empty: held back for a stop string or a UTF-8 tail). */
    void onToken(TokenEvent event);

    /** The sequence ended; no more events follow. */
    void onFinish(FinishReason reason, int promptTokens, int completionTokens);
}
