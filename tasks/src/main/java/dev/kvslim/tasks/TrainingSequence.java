package dev.kvslim.tasks;

import dev.kvslim.core.tokenizer.Tokenizer;
import java.util.Arrays;

/**
 * A sample as the token ids a model is trained on: BOS, the prompt, the target, EOS. {@code target[i]} marks the
 * tokens the model must learn to write, the target's and the closing EOS; the prompt and BOS are context. Training on
 * next-token prediction, the logits at position {@code i} predict {@code tokens[i + 1]}: a trainer that learns only the
 * answers keeps the pairs where {@code target[i + 1]}, one that learns everything keeps all pairs.
 *
 * <p>Prompt and target are encoded separately so that the mark falls exactly on the target's first token; with the
 * byte-level demo tokenizer this is the same as encoding them together, and the sequence has exactly the context
 * length the sample was made for.
 */
public record TrainingSequence(int[] tokens, boolean[] target) {

    public TrainingSequence {
        if (tokens.length != target.length) {
            throw new IllegalArgumentException(tokens.length + " tokens but " + target.length + " target marks");
        }
    }

    /**
     * The sequence of {@code sample} with {@code tokenizer}.
     *
     * @throws IllegalArgumentException if the tokenizer has no BOS or no EOS token
     */
    public static TrainingSequence of(Sample sample, Tokenizer tokenizer) {
        if (tokenizer.bosId() < 0 || tokenizer.eosId() < 0) {
            throw new IllegalArgumentException("training sequences need a tokenizer with BOS and EOS tokens; this one"
                    + " has BOS " + tokenizer.bosId() + ", EOS " + tokenizer.eosId());
        }
        int[] prompt = tokenizer.encode(sample.prompt(), false);
        int[] answer = tokenizer.encode(sample.target(), false);
        int n = 1 + prompt.length + answer.length + 1;
        int[] tokens = new int[n];
        boolean[] target = new boolean[n];
        tokens[0] = tokenizer.bosId();
        System.arraycopy(prompt, 0, tokens, 1, prompt.length);
        System.arraycopy(answer, 0, tokens, 1 + prompt.length, answer.length);
        tokens[n - 1] = tokenizer.eosId();
        Arrays.fill(target, 1 + prompt.length, n, true);
        return new TrainingSequence(tokens, target);
    }

    /** Number of tokens. */
    public int length() {
        return tokens.length;
    }

    /** Index of the first target token: the prompt ends just before it. */
    public int targetStart() {
        int i = 0;
        while (i < target.length && !target[i]) {
            i++;
        }
        return i;
    }
}
