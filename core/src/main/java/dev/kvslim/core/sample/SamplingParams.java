package dev.kvslim.core.sample;

/**
 * How to pick the next token from logits.
 *
 * @param temperature 0 for greedy (argmax, ties to the lowest id), else logits are divided by it
 * @param topK        keep the k most likely tokens; 0 keeps all
 * @param topP        keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all
 * @param minP        drop tokens less likely than minP times the most likely one; 0 keeps all
 * @param seed        seed of the random stream
 */
public record SamplingParams(float temperature, int topK, float topP, float minP, long seed) {

    public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0f, 0L);

    public SamplingParams {
        if (!(temperature >= 0f) || !Float.isFinite(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0, got " + topK);
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        if (!(minP >= 0f && minP <= 1f)) {
            throw new IllegalArgumentException("min_p must be in [0, 1], got " + minP);
        }
    }

    public boolean greedy() {
        return temperature == 0f;
    }
}
