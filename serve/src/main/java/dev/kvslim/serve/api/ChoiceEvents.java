package dev.kvslim.serve.api;

import dev.kvslim.serve.schedule.FinishReason;
import dev.kvslim.serve.schedule.SequenceListener;
import dev.kvslim.serve.schedule.TokenEvent;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The events of a request's n sequences in one queue, tagged with their choice index: the engine thread puts, the
 * request's handler thread takes, so the engine never waits on a slow client.
 */
final class ChoiceEvents {

    /** Something that happened to one choice. */
    sealed interface Event permits Token, Finished {
        int choice();
    }

    record Token(int choice, TokenEvent token) implements Event {}

    record Finished(int choice, FinishReason reason, int promptTokens, int completionTokens) implements Event {}

    private final BlockingQueue<Event> queue = new LinkedBlockingQueue<>();

    /** The listener of choice {@code index}. */
    SequenceListener listener(int index) {
        return new SequenceListener() {
            @Override
            public void onToken(TokenEvent event) {
                queue.add(new Token(index, event));
            }

            @Override
            public void onFinish(FinishReason reason, int promptTokens, int completionTokens) {
                queue.add(new Finished(index, reason, promptTokens, completionTokens));
            }
        };
    }

    Event take() throws InterruptedException {
        return queue.take();
    }

    /** The next event, or null if none comes within {@code millis}. */
    Event poll(long millis) throws InterruptedException {
        return queue.poll(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
    }
}
