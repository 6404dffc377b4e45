package dev.kvslim.core.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * GPT-2 style byte-level BPE, as Hugging Face {@code tokenizers} encodes: special tokens in the text become their
 * ids; the rest is split into words by a pre-tokenizer regex; each word's UTF-8 bytes are written as the
 * printable characters of GPT-2's {@code bytes_to_unicode} table and merged by BPE, the pair of lowest merge rank
 * first (the leftmost on ties), until no pair merges. Decoding maps the characters back to bytes.
 */
public final class ByteLevelBpeTokenizer implements Tokenizer {

    /** GPT-2's pre-tokenizer: contractions, then letters, digits or other symbols with an optional leading space, then whitespace. */
    public static final Pattern GPT2_PRE_TOKENIZER = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

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
    public record Merge(String left, String right) {
    }

    private final String[] tokens;
    private final byte[][] printed;
    private final int[] byteIds;
    private final MergeTable merges;
    private final Pattern preTokenizer;
    private final Pattern specialTokens;
    private final Map<String, Integer> specialIds;
    private final Map<String, int[]> wordCache = new ConcurrentHashMap<>();
    private final int bosId;
    private final int eosId;
    private final boolean addBos;

    /**
     * A tokenizer over {@code tokens} (byte-level strings, by id) of the given {@code types}, merged by
     * {@code merges} in order of priority, splitting text into words with {@code preTokenizer}. Tokens of type
     * {@link TokenType#CONTROL} or {@link TokenType#USER_DEFINED} are matched whole in the text first.
     * {@code addBos} says whether {@code encode(text, true)} starts with BOS.
     *
     * @throws IllegalArgumentException if the arrays differ in length, an id is out of range, a byte has no token,
     *                                  or a merge names a token the vocabulary lacks
     */
    public ByteLevelBpeTokenizer(String[] tokens, TokenType[] types, List<Merge> merges, Pattern preTokenizer,
                                 int bosId, int eosId, boolean addBos) {
        int n = tokens.length;
        if (types.length != n) {
            throw new IllegalArgumentException(n + " tokens but " + types.length + " token types");
        }
        VocabularyIds.check(bosId, n, "BOS");
        VocabularyIds.check(eosId, n, "EOS");
        if (addBos && bosId < 0) {
            throw new IllegalArgumentException("the vocabulary asks for BOS but has no BOS token");
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
                throw new IllegalArgumentException("the vocabulary has no token for byte " + b + " ('"
                        + BYTE_TO_CHAR[b] + "')");
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
        this.specialIds = new HashMap<>();
        for (int id = 0; id < n; id++) {
            printed[id] = printedBytes(tokens[id], types[id]);
            if ((types[id] == TokenType.CONTROL || types[id] == TokenType.USER_DEFINED) && !tokens[id].isEmpty()) {
                specialIds.putIfAbsent(tokens[id], id);
            }
        }
        this.specialTokens = specialIds.isEmpty() ? null : Pattern.compile(specialIds.keySet().stream()
                .sorted(Comparator.comparingInt(String::length).reversed())
                .map(Pattern::quote)
                .collect(Collectors.joining("|")));
        this.preTokenizer = preTokenizer;
        this.bosId = bosId;
        this.eosId = eosId;
        this.addBos = addBos;
    }

    /** Control tokens print nothing, user-defined ones their own text, the others the bytes their characters stand for. */
    private static byte[] printedBytes(String token, TokenType type) {
        if (type == TokenType.CONTROL || type == TokenType.UNKNOWN) {
            return new byte[0];
        }
        if (type == TokenType.USER_DEFINED) {
            return token.getBytes(StandardCharsets.UTF_8);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(token.length());
        token.codePoints().forEach(c -> {
            if (c < CHAR_TO_BYTE.length && CHAR_TO_BYTE[c] >= 0) {
                out.write(CHAR_TO_BYTE[c]);
            } else {
                out.writeBytes(Character.toString(c).getBytes(StandardCharsets.UTF_8));
            }
        });
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
        if (addSpecial && addBos) {
            out.add(bosId);
        }
        int done = 0;
        if (specialTokens != null) {
            Matcher special = specialTokens.matcher(text);
            while (special.find()) {
                encodeOrdinaryText(text, done, special.start(), out);
                out.add(specialIds.get(special.group()));
                done = special.end();
            }
        }
        encodeOrdinaryText(text, done, text.length(), out);
        return out.toArray();
    }

    /** Encodes {@code text[from, to)}, which holds no special token: word by word, as the pre-tokenizer splits it. */
    private void encodeOrdinaryText(String text, int from, int to, IntList out) {
        Matcher word = preTokenizer.matcher(text).region(from, to);
        int done = from;
        while (word.find()) {
            if (word.start() == word.end()) {
                continue;
            }
            if (word.start() > done) {
                out.addAll(encodeWord(text.substring(done, word.start())));
            }
            out.addAll(encodeWord(text.substring(word.start(), word.end())));
            done = word.end();
        }
        if (done < to) {
            out.addAll(encodeWord(text.substring(done, to)));
        }
    }

    private int[] encodeWord(String word) {
        int[] cached = wordCache.get(word);
        if (cached != null) {
            return cached;
        }
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            ids[i] = byteIds[utf8[i] & 0xFF];
        }
        int[] result = Arrays.copyOf(ids, merges.mergeAll(ids, 0, ids.length));
        if (wordCache.size() >= WORD_CACHE_LIMIT) {
            wordCache.clear();
        }
        wordCache.put(word, result);
        return result;
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
