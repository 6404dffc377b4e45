package dev.kvslim.core.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * SentencePiece-style BPE with byte fallback (Llama 2, TinyStories), encoding exactly as llama2.c's
 * {@code run.c} does: a dummy-prefix space before non-empty text, one token per UTF-8 character (or its
 * {@code <0xXX>} byte tokens when the vocabulary lacks it), then merges of the adjacent pair whose concatenation
 * is the vocabulary piece of highest score, the leftmost on ties, until none is left.
 *
 * <p>Pieces are compared as bytes. Two spellings of the space exist: llama2.c's {@code tokenizer.bin} stores a
 * plain space, SentencePiece and GGUF store {@code ▁} (U+2581); a vocabulary that has the piece {@code ▁} is
 * taken to be of the second kind, and spaces in the text are written as {@code ▁} before encoding.
 *
 * <p>Decoding a whole sequence drops the one space at its start that the dummy prefix stands for, as SentencePiece
 * does; streaming with {@link #decodePiece} drops the leading space of the piece after BOS instead, as run.c does.
 */
public final class SentencePieceBpeTokenizer implements Tokenizer {

    private static final byte[] SPACE_MARKER = "\u2581".getBytes(StandardCharsets.UTF_8);
    /** run.c starts its search for the best merge at this score, so a merge scored no higher never happens. */
    private static final float NO_MERGE_SCORE = -1e10f;

    private static final int MAX_UTF8_BYTES = 4;

    private final byte[][] pieces;
    private final byte[][] printed;
    private final LongIntMap characterIds;
    private final int[] byteIds;
    private final MergeTable merges;
    private final boolean spaceMarker;
    private final int bosId;
    private final int eosId;
    private final boolean addBos;
    private final boolean addSpacePrefix;
    private final boolean bosEndsGeneration;

    /**
     * A tokenizer over {@code pieces} (raw bytes of each vocabulary entry, by id) with their merge
     * {@code scores} and {@code types}. {@code addBos} says whether {@code encode(text, true)} starts with BOS,
     * {@code addSpacePrefix} whether a space is put before non-empty text, {@code bosEndsGeneration} whether
     * a generated BOS ends the text as well as EOS (llama2.c's run.c stops there: its models start a new story).
     *
     * @throws IllegalArgumentException if the arrays differ in length, an id is out of range, or a byte-fallback
     *                                  token {@code <0x00>..<0xFF>} is missing
     */
    public SentencePieceBpeTokenizer(
            byte[][] pieces,
            float[] scores,
            TokenType[] types,
            int bosId,
            int eosId,
            boolean addBos,
            boolean addSpacePrefix,
            boolean bosEndsGeneration) {
        int n = pieces.length;
        if (scores.length != n || types.length != n) {
            throw new IllegalArgumentException(
                    n + " pieces but " + scores.length + " scores and " + types.length + " token types");
        }
        VocabularyIds.check(bosId, n, "BOS");
        VocabularyIds.check(eosId, n, "EOS");
        if (addBos && bosId < 0) {
            throw new IllegalArgumentException("the vocabulary asks for BOS but has no BOS token");
        }
        this.pieces = new byte[n][];
        this.byteIds = new int[256];
        Arrays.fill(byteIds, -1);
        Map<String, Integer> textIds = new HashMap<>(2 * n);
        for (int id = 0; id < n; id++) {
            byte[] piece = pieces[id].clone();
            this.pieces[id] = piece;
            int byteValue = byteTokenValue(piece);
            if (byteValue >= 0) {
                if (byteIds[byteValue] < 0) {
                    byteIds[byteValue] = id;
                }
            } else if (types[id] != TokenType.CONTROL && types[id] != TokenType.UNKNOWN) {
                textIds.putIfAbsent(new String(piece, StandardCharsets.ISO_8859_1), id);
            }
        }
        for (int b = 0; b < 256; b++) {
            if (byteIds[b] < 0) {
                throw new IllegalArgumentException("the vocabulary lacks the byte-fallback token " + byteTokenName(b));
            }
        }
        this.spaceMarker = textIds.containsKey(new String(SPACE_MARKER, StandardCharsets.ISO_8859_1));
        this.printed = new byte[n][];
        for (int id = 0; id < n; id++) {
            printed[id] = printedBytes(this.pieces[id], types[id]);
        }
        this.characterIds = new LongIntMap(n);
        this.merges = new MergeTable(n);
        for (Map.Entry<String, Integer> e : textIds.entrySet()) {
            String piece = e.getKey();
            int id = e.getValue();
            if (!piece.isEmpty() && characterLength(this.pieces[id], 0) == piece.length()) {
                characterIds.putIfAbsent(characterKey(this.pieces[id], 0, piece.length()), id);
            }
            float score = scores[id] + 0.0f;
            if (!(score > NO_MERGE_SCORE)) {
                continue;
            }
            for (int split = 1; split < piece.length(); split++) {
                Integer left = textIds.get(piece.substring(0, split));
                Integer right = textIds.get(piece.substring(split));
                if (left != null && right != null) {
                    merges.add(left, right, id, descendingPriority(score));
                }
            }
        }
        this.bosId = bosId;
        this.eosId = eosId;
        this.addBos = addBos;
        this.addSpacePrefix = addSpacePrefix;
        this.bosEndsGeneration = bosEndsGeneration;
    }

    /** The byte that a piece {@code <0xXX>} stands for, or -1 for any other piece. */
    private static int byteTokenValue(byte[] piece) {
        if (piece.length != 6 || piece[0] != '<' || piece[1] != '0' || piece[2] != 'x' || piece[5] != '>') {
            return -1;
        }
        int high = upperHexDigit(piece[3]);
        int low = upperHexDigit(piece[4]);
        return high < 0 || low < 0 ? -1 : high << 4 | low;
    }

    private static int upperHexDigit(byte b) {
        if (b >= '0' && b <= '9') {
            return b - '0';
        }
        return b >= 'A' && b <= 'F' ? b - 'A' + 10 : -1;
    }

    private static String byteTokenName(int b) {
        return String.format("<0x%02X>", b);
    }

    private byte[] printedBytes(byte[] piece, TokenType type) {
        if (type == TokenType.CONTROL || type == TokenType.UNKNOWN) {
            return new byte[0];
        }
        int byteValue = byteTokenValue(piece);
        if (byteValue >= 0) {
            return new byte[] {(byte) byteValue};
        }
        if (!spaceMarker) {
            return piece;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(piece.length);
        for (int i = 0; i < piece.length; i++) {
            if (startsWith(piece, i, SPACE_MARKER)) {
                out.write(' ');
                i += SPACE_MARKER.length - 1;
            } else {
                out.write(piece[i]);
            }
        }
        return out.toByteArray();
    }

    private static boolean startsWith(byte[] bytes, int offset, byte[] prefix) {
        return bytes.length - offset >= prefix.length
                && Arrays.equals(bytes, offset, offset + prefix.length, prefix, 0, prefix.length);
    }

    /** A key for the bytes {@code [from, from + length)}, {@code length <= 4}, that no other byte string shares. */
    private static long characterKey(byte[] bytes, int from, int length) {
        long key = length;
        for (int i = from; i < from + length; i++) {
            key = key << 8 | (bytes[i] & 0xFF);
        }
        return key;
    }

    /** An int that orders scores from highest to lowest, equal only for equal scores (with -0 = +0). */
    private static int descendingPriority(float score) {
        int bits = Float.floatToIntBits(score);
        int ascending = bits >= 0 ? bits : bits ^ Integer.MAX_VALUE;
        return ~ascending;
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int[] encode(String text, boolean addSpecial) {
        Objects.requireNonNull(text, "text");
        boolean bos = addSpecial && addBos;
        String prefixed = addSpacePrefix && !text.isEmpty() ? " " + text : text;
        byte[] utf8 = (spaceMarker ? prefixed.replace(' ', '\u2581') : prefixed).getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[(bos ? 1 : 0) + utf8.length];
        int n = 0;
        if (bos) {
            ids[n++] = bosId;
        }
        int textStart = n;
        for (int i = 0; i < utf8.length; ) {
            int length = characterLength(utf8, i);
            int id = characterIds.get(characterKey(utf8, i, length));
            if (id >= 0) {
                ids[n++] = id;
            } else {
                for (int k = i; k < i + length; k++) {
                    ids[n++] = byteIds[utf8[k] & 0xFF];
                }
            }
            i += length;
        }
        n = merges.mergeAll(ids, textStart, n);
        return n == ids.length ? ids : Arrays.copyOf(ids, n);
    }

    /** Bytes of the character at {@code i}: the byte and the continuation bytes after it, four at most (run.c). */
    private static int characterLength(byte[] utf8, int i) {
        int length = 1;
        while (i + length < utf8.length && length < MAX_UTF8_BYTES && (utf8[i + length] & 0xC0) == 0x80) {
            length++;
        }
        return length;
    }

    @Override
    public byte[] decodePiece(int previous, int token) {
        Objects.checkIndex(token, pieces.length);
        byte[] bytes = printed[token];
        if (previous == bosId && bosId >= 0 && startsWithSpace(pieces[token])) {
            return Arrays.copyOfRange(bytes, 1, bytes.length);
        }
        return bytes.clone();
    }

    private boolean startsWithSpace(byte[] piece) {
        return spaceMarker ? startsWith(piece, 0, SPACE_MARKER) : piece.length > 0 && piece[0] == ' ';
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            Objects.checkIndex(id, pieces.length);
            out.writeBytes(printed[id]);
        }
        byte[] bytes = out.toByteArray();
        int start = addSpacePrefix && bytes.length > 0 && bytes[0] == ' ' ? 1 : 0;
        return new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8);
    }

    @Override
    public String piece(int id) {
        Objects.checkIndex(id, pieces.length);
        return new String(pieces[id], StandardCharsets.UTF_8);
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public int eosId() {
        return eosId;
    }

    @Override
    public boolean isEndOfGeneration(int id) {
        return id == eosId || bosEndsGeneration && id == bosId;
    }
}
