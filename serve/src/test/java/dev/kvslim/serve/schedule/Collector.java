package dev.kvslim.serve.schedule;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Collects one sequence's events for tests. */
final class Collector implements SequenceListener {

    final List<Integer> tokens = new ArrayList<>();
    final StringBuilder text = new StringBuilder();
    final List<TokenEvent> events = new ArrayList<>();
    final CompletableFuture<FinishReason> finished = new CompletableFuture<>();
    volatile int completionTokens;

    @Override
    public synchronized void onToken(TokenEvent event) {
        tokens.add(event.token());
        text.append(event.text());
        events.add(event);
    }

    @Override
    public void onFinish(FinishReason reason, int promptTokens, int completionTokens) {
        this.completionTokens = completionTokens;
        finished.complete(reason);
    }

    FinishReason await() throws Exception {
        return finished.get(60, TimeUnit.SECONDS);
    }

    synchronized int[] tokenArray() {
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }
}
