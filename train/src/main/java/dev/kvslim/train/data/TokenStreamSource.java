package dev.kvslim.train.data;

import dev.kvslim.train.random.Rng;

/**
 * Rows cut from one long token stream at random offsets drawn from a seeded generator (so every part of the
 * stream is sampled, in an order the seed fixes). The state is the generator's.
 */
public final class TokenStreamSource implements TokenSource {

    private final int[] stream;
    private final Rng rng;

    public TokenStreamSource(int[] stream, long seed) {
        if (stream.length < 2) {
            throw new IllegalArgumentException("a token stream needs at least 2 tokens, has " + stream.length);
        }
        this.stream = stream;
        this.rng = new Rng(seed);
    }

    public int length() {
        return stream.length;
    }

    @Override
    public void next(Batch batch) {
        int row = batch.t + 1;
        if (stream.length < row) {
            throw new IllegalArgumentException(
                    "the token stream has " + stream.length + " tokens, fewer than one row of T+1 = " + row);
        }
        for (int r = 0; r < batch.b; r++) {
            int start = rng.nextInt(stream.length - row + 1);
            System.arraycopy(stream, start, batch.tokens, r * row, row);
        }
        batch.setHasMask(false);
    }

    @Override
    public long[] state() {
        return new long[] {rng.state()};
    }

    @Override
    public void restore(long[] state) {
        if (state.length != 1) {
            throw new IllegalArgumentException("token stream state has 1 number, got " + state.length);
        }
        rng.setState(state[0]);
    }
}
