package dev.kvslim.train.loop;

/** Called after every optimiser step (progress display, step log, a test's recorder). */
@FunctionalInterface
public interface StepCallback {
    void afterStep(StepResult result, int totalSteps);
}
