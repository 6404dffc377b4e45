package dev.kvslim.core.sample;

import java.util.Arrays;

/**
 * OpenAI's {@code logit_bias}: values added to the logits of some tokens before sampling (-100 bans a token in
 * practice, 100 all but forces it).
 *
 * @param ids    the token ids
 * @param values what is added to each one's logit
 */
public record LogitBias(int[] ids, float[] values) {

    public static final LogitBias NONE = new LogitBias(new int[0], new float[0]);

    public LogitBias {
        if (ids.length != values.length) {
            throw new IllegalArgumentException(ids.length + " ids but " + values.length + " values");
        }
        ids = ids.clone();
        values = values.clone();
    }

    public boolean isEmpty() {
        return ids.length == 0;
    }

    /** Adds the biases to {@code logits} in place. */
    public void apply(float[] logits) {
        for (int i = 0; i < ids.length; i++) {
            logits[ids[i]] += values[i];
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LogitBias b && Arrays.equals(ids, b.ids) && Arrays.equals(values, b.values);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(ids) + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return "LogitBias" + Arrays.toString(ids) + Arrays.toString(values);
    }
}
