package dev.kvslim.bench;

import java.util.SplittableRandom;

/**
 * About a megabyte of seeded text that resembles what a tokenizer is fed: English prose with words drawn
 * Zipf-like from a common-word list, numbers, dates and quotes; now and then a code block, a paragraph of Chinese,
 * Russian or Japanese, and emoji.
 */
final class BenchmarkText {

    private static final String[] WORDS = ("the of and to a in is that it was for on are as with his they at be this "
                    + "from have or by one had not but what all were when we there can an your which their said if do will "
                    + "each about how up out them then she many some so these would other into has more her two like him see "
                    + "time could no make than first been its who now people my made over did down only way find use may water "
                    + "long little very after words called just where most know get through back much before go good new write "
                    + "our used me man too any day same right look think also around another came come work three word must "
                    + "because does part even place well such here take why things help put years different away again off "
                    + "went old number great tell men say small every found still between name should home big give air line "
                    + "set own under read last never us left end along while might next sound below saw something thought both "
                    + "few those always looked show large often together asked house don't world going want school important "
                    + "until form food keep children feet land side without boy once animals life enough took sometimes four "
                    + "head above kind began almost live page got earth need far hand high year mother light parts country "
                    + "father let night following picture being study second eyes soon times story boys since white days ever "
                    + "paper hard near sentence better best across during today others however sure means knew it's try told "
                    + "young miles sun ways thing whole hear example heard several change answer room sea against top turned "
                    + "learn point city play toward five using himself usually")
            .split(" ");
    private static final String[] CODE = {
        "def tokenize(text: str) -> list[int]:\n    ids = []\n    for word in split(text):\n"
                + "        ids.extend(bpe(word))\n    return ids\n",
        "for (int i = 0; i < n; i++) {\n    sum += a[i] * b[i];\n}\nreturn sum;\n",
        "SELECT name, COUNT(*) AS n FROM users WHERE created_at > '2024-01-01' GROUP BY name;\n",
        "<div class=\"card\">\n  <h2>{{ title }}</h2>\n  <p>{{ body | safe }}</p>\n</div>\n"
    };
    private static final String[] OTHER = {
        "机器学习是人工智能的一个分支，它使计算机能够从数据中学习。我们今天讨论模型的记忆与推理。",
        "Машинное обучение — это раздел искусственного интеллекта, который изучает методы построения алгоритмов.",
        "機械学習は、データから学習するアルゴリズムの研究です。今日はとても良い天気ですね。"
    };
    private static final String[] EMOJI = {"🙂", "🚀", "👍🏽", "👨‍👩‍👧", "🎉"};

    private BenchmarkText() {}

    /** At least {@code chars} characters of text from {@code seed}. */
    static String generate(long seed, int chars) {
        SplittableRandom random = new SplittableRandom(seed);
        StringBuilder text = new StringBuilder(chars + 4096);
        while (text.length() < chars) {
            int kind = random.nextInt(40);
            if (kind == 0) {
                text.append("```\n").append(CODE[random.nextInt(CODE.length)]).append("```\n\n");
            } else if (kind == 1) {
                text.append(OTHER[random.nextInt(OTHER.length)]).append("\n\n");
            } else {
                paragraph(random, text);
            }
        }
        return text.toString();
    }

    private static void paragraph(SplittableRandom random, StringBuilder text) {
        for (int sentences = 2 + random.nextInt(6); sentences > 0; sentences--) {
            int words = 5 + random.nextInt(20);
            for (int w = 0; w < words; w++) {
                String word = WORDS[zipf(random, WORDS.length)];
                if (w == 0) {
                    word = Character.toUpperCase(word.charAt(0)) + word.substring(1);
                }
                text.append(word);
                int extra = random.nextInt(60);
                if (extra == 0) {
                    text.append(' ').append(random.nextInt(100_000));
                } else if (extra == 1) {
                    text.append(String.format(
                            " %04d-%02d-%02d",
                            1990 + random.nextInt(40), 1 + random.nextInt(12), 1 + random.nextInt(28)));
                } else if (extra == 2) {
                    text.append(',');
                } else if (extra == 3) {
                    text.append(" \"")
                            .append(WORDS[random.nextInt(WORDS.length)])
                            .append('"');
                } else if (extra == 4) {
                    text.append(' ').append(EMOJI[random.nextInt(EMOJI.length)]);
                }
                text.append(w + 1 < words ? " " : random.nextInt(5) == 0 ? "? " : ". ");
            }
        }
        text.setLength(text.length() - 1);
        text.append("\n\n");
    }

    /** A rank in [0, n) with probability about proportional to 1 / (rank + 1). */
    private static int zipf(SplittableRandom random, int n) {
        return (int) Math.min(n - 1, Math.floor(Math.exp(random.nextDouble() * Math.log(n + 1)) - 1));
    }
}
