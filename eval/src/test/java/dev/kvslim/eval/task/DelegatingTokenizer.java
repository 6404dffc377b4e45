package dev.kvslim.eval.task;

import dev.kvslim.core.tokenizer.Tokenizer;

/** A tokenizer passing everything to another, for tests to override one method. */
class DelegatingTokenizer implements Tokenizer {

    private final Tokenizer inner;

    DelegatingTokenizer(Tokenizer inner) {
        this.inner = inner;
    }

    @Override
    public int vocabSize() {
        return inner.vocabSize();
    }

    @Override
    public int[] encode(String text, boolean addSpecial) {
        return inner.encode(text, addSpecial);
    }

    @Override
    public byte[] decodePiece(int previous, int token) {
        return inner.decodePiece(previous, token);
    }

    @Override
    public String decode(int[] ids) {
        return inner.decode(ids);
    }

    @Override
    public String piece(int id) {
        return inner.piece(id);
    }

    @Override
    public int bosId() {
        return inner.bosId();
    }

    @Override
    public int eosId() {
        return inner.eosId();
    }
}
