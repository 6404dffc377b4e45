package dev.kvslim.core.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * GPT-2 style byte-level BPE, as Hugging Face {@code tokenizers} encodes: a {@link TextSegmenter} takes the added
 * (special) tokens out of the text and cuts the rest into words; each word's UTF-8 bytes are written as the
 * printable characters of GPT-2's {@code bytes_to_unicode} table and merged by BPE, the pair of lowest merge rank
 * first (the leftmost on ties), until no pair merges. Decoding maps the characters back to bytes.
 */
public final class ByteLevelBpeTokenizer implements Tokenizer {

    /** GPT-2's pre-tokenizer: contractions, then letters, digits or other symbols with an optional leading space, then whitespace. */
    public static final Pattern GPT2_PRE_TOKENIZER = OnigurumaRegex.compile(ByteLevelPreTokenizers.GPT2);

    private static final int WORD_CACHE_LIMIT = 16_384;
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        Arrays.fill(CHAR_TO_BYTE, -1);
        int unprintable = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE;
            char c = printable ? (char) b : (char) (256 + unprintable++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    /** A merge rule: adjacent tokens {@code left} and {@code right} become the token {@code left + right}. */
    public record Merge(String left, String right) {}

    private final String[] tokens;
    private final byte[][] printed;
    private final int[] byteIds;
    private final MergeTable merges;
    private final Map<String, Integer> wholeWordIds;
    private final TextSegmenter segmenter;
    private final int[] prefixIds;
    private final int[] suffixIds;
    private final Map<String, int[]> wordCache = new ConcurrentHashMap<>();
    private final int bosId;
    private final int eosId;

    /**
     * A tokenizer over {@code tokens} (byte-level strings, by id) of the given {@code types}, merged by
     * {@code merges} in order of priority, splitting text into words with {@code preTokenizer}. Tokens of type
     * {@link TokenType#CONTROL} or {@link TokenType#USER_DEFINED} are matched whole in the text first.
     * {@code addBos} says whether {@code encode(text, true)} starts with BOS.
     *
     * @throws IllegalArgumentException if the arrays differ in length, an id is out of range, a byte has no token,
     *                                  or a merge names a token the vocabulary lacks
     */
    public ByteLevelBpeTokenizer(
            String[] tokens,
            TokenType[] types,
            List<Merge> merges,
            Pattern preTokenizer,
            int bosId,
            int eosId,
            boolean addBos) {
        this(
                tokens,
                types,
                merges,
                Map.of(),
                new TextSegmenter(
                        specialTokens(tokens, types),
                        UnaryOperator.identity(),
                        List.of(new PreTokenizerStep.Split(preTokenizer))),
                addBos ? bosPrefix(bosId) : new int[0],
                new int[0],
                bosId,
                eosId);
    }

    /**
     * As the public constructor, with Hugging Face's {@code ignore_merges} (Llama 3): a word that is itself a
     * vocabulary token stays that one token, whatever the merges would make of it.
     */
    public static ByteLevelBpeTokenizer ignoringMerges(
            String[] tokens,
            TokenType[] types,
            List<Merge> merges,
            Pattern preTokenizer,
            int bosId,
            int eosId,
            boolean addBos) {
        Map<String, Integer> whole = new HashMap<>(2 * tokens.length);
        for (int id = 0; id < tokens.length; id++) {
            if (types[id] != TokenType.CONTROL && types[id] != TokenType.USER_DEFINED) {
                whole.putIfAbsent(tokens[id], id);
            }
        }
        return new ByteLevelBpeTokenizer(
                tokens,
                types,
                merges,
                whole,
                new TextSegmenter(
                        specialTokens(tokens, types),
                        UnaryOperator.identity(),
                        List.of(new PreTokenizerStep.Split(preTokenizer))),
                addBos ? bosPrefix(bosId) : new int[0],
                new int[0],
                bosId,
                eosId);
    }

    /**
     * A tokenizer over {@code tokens} (byte-level strings, by id) of the given {@code types}, merged by
     * {@code merges} in order of priority, cutting text with {@code segmenter}. A word whose byte-level string is a
     * key of {@code wholeWords} becomes that one id without merging (Hugging Face's {@code ignore_merges}).
     * {@code encode(text, true)} puts {@code prefixIds} before the text's ids and {@code suffixIds} after them.
     *
     * @throws IllegalArgumentException if the arrays differ in length, an id is out of range, a byte has no token,
     *                                  or a merge names a token the vocabulary lacks
     */
    ByteLevelBpeTokenizer(
            String[] tokens,
            TokenType[] types,
            List<Merge> merges,
            Map<String, Integer> wholeWords,
            TextSegmenter segmenter,
            int[] prefixIds,
            int[] suffixIds,
            int bosId,
            int eosId) {
        int n = tokens.length;
        if (types.length != n) {
            throw new IllegalArgumentException(n + " tokens but " + types.length + " token types");
        }
        VocabularyIds.check(bosId, n, "BOS");
        VocabularyIds.check(eosId, n, "EOS");
        for (int id : IntStream.concat(Arrays.stream(prefixIds), Arrays.stream(suffixIds))
                .toArray()) {
            if (id < 0 || id >= n) {
                throw new IllegalArgumentException(
                        "id " + id + ", to be put around encoded text, is outside the" + " vocabulary of " + n);
            }
        }
        this.tokens = tokens.clone();
        Map<String, Integer> ids = new HashMap<>(2 * n);
        for (int id = 0; id < n; id++) {
            ids.putIfAbsent(tokens[id], id);
        }
        this.byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(String.valueOf(BYTE_TO_CHAR[b]));
            if (id == null) {
                throw new IllegalArgumentException(
                        "the vocabulary has no token for byte " + b + " ('" + BYTE_TO_CHAR[b] + "')");
            }
            byteIds[b] = id;
        }
        this.merges = new MergeTable(merges.size());
        for (int rank = 0; rank < merges.size(); rank++) {
            Merge merge = merges.get(rank);
            Integer left = ids.get(merge.left());
            Integer right = ids.get(merge.right());
            Integer merged = ids.get(merge.left() + merge.right());
            if (left == null || right == null || merged == null) {
                throw new IllegalArgumentException("merge " + rank + " ('" + merge.left() + "' + '" + merge.right()
                        + "') involves a token missing from the vocabulary");
            }
            this.merges.add(left, right, merged, rank);
        }
        this.printed = new byte[n][];
        for (int id = 0; id < n; id++) {
            printed[id] = printedBytes(tokens[id], types[id]);
        }
        this.wholeWordIds = Map.copyOf(wholeWords);
        this.segmenter = segmenter;
        this.prefixIds = prefixIds.clone();
        this.suffixIds = suffixIds.clone();
        this.bosId = bosId;
        this.eosId = eosId;
    }

    /** The control and user-defined tokens of a vocabulary, to be matched as written (the first id of a string wins). */
    private static List<AddedToken> specialTokens(String[] tokens, TokenType[] types) {
        Map<String, AddedToken> special = new LinkedHashMap<>();
        for (int id = 0; id < Math.min(tokens.length, types.length); id++) {
            if ((types[id] == TokenType.CONTROL || types[id] == TokenType.USER_DEFINED) && !tokens[id].isEmpty()) {
                special.putIfAbsent(tokens[id], AddedToken.plain(id, tokens[id], types[id] == TokenType.CONTROL));
            }
        }
        return List.copyOf(special.values());
    }

    private static int[] bosPrefix(int bosId) {
        if (bosId < 0) {
            throw new IllegalArgumentException("the vocabulary asks for BOS but has no BOS token");
        }
        return new int[] {bosId};
    }

    /**
     * What a token prints: nothing for control tokens, its own text for user-defined ones; for the others the bytes
     * its characters stand for, or, if a character stands for no byte, the token's own text (as Hugging Face's
     * byte-level decoder does).
     */
    private static byte[] printedBytes(String token, TokenType type) {
        if (type == TokenType.CONTROL || type == TokenType.UNKNOWN) {
            return new byte[0];
        }
        byte[] utf8 = token.getBytes(StandardCharsets.UTF_8);
        if (type == TokenType.USER_DEFINED) {
            return utf8;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(token.length());
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c >= CHAR_TO_BYTE.length || CHAR_TO_BYTE[c] < 0) {
                return utf8;
            }
            out.write(CHAR_TO_BYTE[c]);
        }
        return out.toByteArray();
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public int[] encode(String text, boolean addSpecial) {
        Objects.requireNonNull(text, "text");
        IntList out = new IntList(text.length() + 1);
        if (addSpecial) {
            out.addAll(prefixIds);
        }
        segmenter.segment(text, new TextSegmenter.Sink() {
            @Override
            public void token(int id) {
                out.add(id);
            }

            @Override
            public void word(String word) {
                out.addAll(encodeWord(word));
            }
        });
        if (addSpecial) {
            out.addAll(suffixIds);
        }
        return out.toArray();
    }

    private int[] encodeWord(String word) {
        int[] cached = wordCache.get(word);
        if (cached != null) {
            return cached;
        }
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        Integer whole = wholeWordIds.isEmpty() ? null : wholeWordIds.get(byteLevel(utf8));
        int[] result;
        if (whole != null) {
            result = new int[] {whole};
        } else {
            int[] ids = new int[utf8.length];
            for (int i = 0; i < utf8.length; i++) {
                ids[i] = byteIds[utf8[i] & 0xFF];
            }
            result = Arrays.copyOf(ids, merges.mergeAll(ids, 0, ids.length));
        }
        if (wordCache.size() >= WORD_CACHE_LIMIT) {
            wordCache.clear();
        }
        wordCache.put(word, result);
        return result;
    }

    /** The byte-level string of some bytes: each byte as its printable character. */
    private static String byteLevel(byte[] bytes) {
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            chars[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(chars);
    }

    @Override
    public byte[] decodePiece(int previous, int token) {
        Objects.checkIndex(token, tokens.length);
        return printed[token].clone();
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            Objects.checkIndex(id, tokens.length);
            out.writeBytes(printed[id]);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public String piece(int id) {
        Objects.checkIndex(id, tokens.length);
        return tokens[id];
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public int eosId() {
        return eosId;
    }

    /** A growable array of ints. */
    private static final class IntList {

        private int[] values;
        private int size;

        IntList(int capacity) {
            values = new int[Math.max(4, capacity)];
        }

        void add(int value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }

        void addAll(int[] more) {
            if (size + more.length > values.length) {
                values = Arrays.copyOf(values, Math.max(size * 2, size + more.length));
            }
            System.arraycopy(more, 0, values, size, more.length);
            size += more.length;
        }

        int[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
