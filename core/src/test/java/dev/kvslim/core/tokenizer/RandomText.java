package dev.kvslim.core.tokenizer;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded random strings that probe a tokenizer's text handling: words of several scripts, contractions in any
 * case, digit runs of several number systems, whitespace runs (CR LF, tabs, Unicode spaces, joiners), combining
 * marks that NFC reorders or composes, emoji with modifiers and ZWJ sequences, code, any assigned code point, and
 * the given markers (special tokens, whole or broken) mixed in.
 */
final class RandomText {

    private static final String[] WORDS = {
        "the",
        "The",
        "THE",
        "hello",
        "world",
        "Once",
        "upon",
        "a",
        "time",
        "naïve",
        "café",
        "straße",
        "İstanbul",
        "ǅemal",
        "ﬁnance",
        "œuvre",
        "Ⅻ",
        "ſtop",
        "KELVIN"
    };
    private static final String[] CONTRACTIONS = {
        "'s", "'S", "'t", "'re", "'RE", "'ve", "'Ve", "'m", "'M", "'ll", "'LL", "'d", "'D", "'ſ", "'K", "’s", "'", "''",
        "'x"
    };
    private static final String[] WHITESPACE = {
        " ", " ", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\r", "\u000B", "\u000C", "\u0085", "\u00A0", "\u1680",
        "\u2000", "\u2003", "\u2009", "\u200A", "\u2028", "\u2029", "\u202F", "\u205F", "\u3000", "\u200B", "\u200C",
        "\u200D", "\uFEFF", "\u180E", "\u001C", "\u001F"
    };
    private static final String[] CODE = {
        "for (int i = 0; i < n; i++) {\n    sum += a[i];\n}",
        "def f(x):\n\treturn x ** 2  # square\r\n",
        "if (a != b && c >= d) return -1;",
        "<div class=\"x\">&amp;</div>",
        "SELECT * FROM t WHERE id = 42;",
        "#include <stdio.h>",
        "λx.x → y",
        "a_b-c.d/e\\f",
        "$var = @{'k' => 1};",
        "0x1F 1e-9 3.14159 -7",
        "https://example.com/a?b=c&d=e#f",
        "{\"key\": [1, 2, {\"n\": null}]}",
        "   indented\n        more\n",
        "x+=1;y-=2;z*=3",
        "/* comment */ // line",
        "`code` **bold** _it_"
    };
    private static final String[] SYMBOLS = {
        ".", ",", "!", "?", "...", "…", "—", "–", "-", "«", "»", "¿", "¡", "©", "°", "€", "$", "%", "&", "*", "()",
        "[]", "{}", "<>", "|", "~", "^", "@", "#", "\"", "“", "”", "、", "。", "！", "·", "•", "±", "×", "÷", "∑", "√",
        "∞", "♥", "☃", "★"
    };
    private static final String[] EMOJI = {
        "😀",
        "🙂",
        "🦙",
        "🚀",
        "👍🏽",
        "👋🏿",
        "👨‍👩‍👧‍👦",
        "🏳️‍🌈",
        "👩🏻‍💻",
        "🇩🇪",
        "🇯🇵",
        "1️⃣",
        "❤️",
        "☺︎",
        "🫠",
        "🧑‍🤝‍🧑"
    };
    /** Code point ranges of letters (and their marks) in several scripts. */
    private static final int[][] SCRIPTS = {
        {'a', 'z'},
        {'A', 'Z'},
        {0xC0, 0xFF},
        {0x100, 0x17F},
        {0x391, 0x3C9},
        {0x410, 0x44F},
        {0x5D0, 0x5EA},
        {0x627, 0x64A},
        {0x905, 0x939},
        {0x93E, 0x94D},
        {0xE01, 0xE3A},
        {0x3041, 0x3096},
        {0x30A1, 0x30FA},
        {0x4E00, 0x9FA5},
        {0xAC00, 0xD7A3},
        {0x1100, 0x1112},
        {0x1161, 0x1175},
        {0x10A0, 0x10FA},
        {0x1E00, 0x1EFF},
        {0x20000, 0x2A6DF}
    };

    private static final int[][] DIGITS = {
        {'0', '9'},
        {0x660, 0x669},
        {0x966, 0x96F},
        {0xFF10, 0xFF19},
        {0xB2, 0xB3},
        {0x2160, 0x216F},
        {0x2460, 0x2473},
        {0xBC, 0xBE},
        {0x1D7CE, 0x1D7FF}
    };
    private static final int[][] COMBINING = {{0x300, 0x36F}, {0x1AB0, 0x1ABE}, {0x20D0, 0x20F0}, {0x3099, 0x309A}};

    private final SplittableRandom random;
    private final List<String> markers;

    /** Strings from {@code seed}, with {@code markers} among the fragments. */
    RandomText(long seed, List<String> markers) {
        this.random = new SplittableRandom(seed);
        this.markers = markers;
    }

    /** The next string: 1 to 12 fragments, sometimes separated by a space. */
    String next() {
        StringBuilder text = new StringBuilder();
        int fragments = 1 + random.nextInt(12);
        for (int i = 0; i < fragments; i++) {
            fragment(text);
            if (random.nextInt(3) == 0) {
                text.append(' ');
            }
        }
        return text.toString();
    }

    private void fragment(StringBuilder text) {
        switch (random.nextInt(13)) {
            case 0 -> text.append(pick(WORDS)).append(random.nextBoolean() ? pick(CONTRACTIONS) : "");
            case 1 -> appendRun(text, pick(SCRIPTS), 1 + random.nextInt(8));
            case 2 -> appendRun(text, pick(DIGITS), 1 + random.nextInt(9));
            case 3 -> {
                for (int n = 1 + random.nextInt(4); n > 0; n--) {
                    text.append(pick(WHITESPACE));
                }
            }
            case 4 -> text.append(pick(CODE));
            case 5 -> text.append(pick(SYMBOLS)).append(random.nextBoolean() ? pick(SYMBOLS) : "");
            case 6 -> text.append(pick(EMOJI));
            case 7 -> {
                appendRun(text, pick(SCRIPTS), 1);
                for (int n = 1 + random.nextInt(3); n > 0; n--) {
                    appendRun(text, pick(COMBINING), 1);
                }
            }
            case 8 -> text.append(markers.isEmpty() ? "<|" : markers.get(random.nextInt(markers.size())));
            case 9 -> {
                String marker = markers.isEmpty() ? "<|im_start|>" : markers.get(random.nextInt(markers.size()));
                text.append(marker, 0, random.nextInt(marker.length() + 1));
            }
            case 10 -> text.append(pick(CONTRACTIONS)).append(pick(WORDS));
            case 11 -> {
                for (int n = 1 + random.nextInt(4); n > 0; n--) {
                    text.appendCodePoint(anyAssignedCodePoint());
                }
            }
            default -> {
                for (int n = 1 + random.nextInt(6); n > 0; n--) {
                    text.append((char) (' ' + random.nextInt(95)));
                }
            }
        }
    }

    /** A random code point of planes 0 to 3 that Java's Unicode assigns, not a surrogate or private use. */
    private int anyAssignedCodePoint() {
        while (true) {
            int c = random.nextInt(0x40000);
            int type = Character.getType(c);
            if (Character.isDefined(c) && type != Character.SURROGATE && type != Character.PRIVATE_USE) {
                return c;
            }
        }
    }

    private void appendRun(StringBuilder text, int[] range, int length) {
        for (int i = 0; i < length; i++) {
            text.appendCodePoint(range[0] + random.nextInt(range[1] - range[0] + 1));
        }
    }

    private <T> T pick(T[] options) {
        return options[random.nextInt(options.length)];
    }
}
