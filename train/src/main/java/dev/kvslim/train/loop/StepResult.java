package dev.kvslim.train.loop;

/**
 * What one optimiser step did: its number (1-based), mean loss over its micro-batches, learning rate, global
 * gradient norm before clipping, tokens processed so far and seconds since the run (or resumed run) started.
 */
public record StepResult(int step, float loss, float lr, double gradNorm, long tokens, double elapsedSeconds) {}
