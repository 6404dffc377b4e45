package dev.kvslim.train.dms;

import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.sample.Sampler;
import dev.kvslim.core.sample.SamplingParams;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.function.IntConsumer;
import java.util.function.IntPredicate;

/**
 * Training text sampled from the teacher itself (the {@code --data teacher} source): sequences from BOS at
 * temperature 1 (no top-k/top-p truncation), each up to {@code maxLength} tokens including BOS and ending early at
 * an end-of-generation token (which is kept), concatenated into one stream until it holds {@code tokens} tokens.
 * Sequence {@code i} samples with seed {@code seed + i}. The stream is cached in a file (header: magic, seed,
 * token count, maximum length), so a resumed run trains on exactly the same data without sampling again.
 */
public final class TeacherSamples {

    private static final int MAGIC = 0x4B565453; // "KVTS"

    private TeacherSamples() {}

    /** The cached stream of {@code file} if it was made with these settings, else a new one (written to it). */
    public static int[] loadOrSample(
            Path file,
            Model teacher,
            int bos,
            IntPredicate end,
            int tokens,
            int maxLength,
            long seed,
            IntConsumer progress)
            throws IOException {
        int[] cached = read(file, tokens, maxLength, seed);
        if (cached != null) {
            return cached;
        }
        int[] stream = sample(teacher, bos, end, tokens, maxLength, seed, progress);
        write(file, stream, maxLength, seed);
        return stream;
    }

    /** Samples the stream, telling {@code progress} the percentage sampled so far after each sequence. */
    public static int[] sample(
            Model teacher, int bos, IntPredicate end, int tokens, int maxLength, long seed, IntConsumer progress) {
        if (bos < 0) {
            throw new IllegalArgumentException("the teacher's tokenizer has no BOS token to start samples from");
        }
        if (tokens < 2 || maxLength < 2) {
            throw new IllegalArgumentException(
                    "teacher samples need at least 2 tokens, got " + tokens + " / " + maxLength);
        }
        int length = Math.min(maxLength, teacher.config().contextLength());
        int[] stream = new int[tokens];
        int filled = 0;
        Model.State state = teacher.newState(1);
        KvCache cache = teacher.newDenseCache(length);
        int[] one = new int[1];
        for (long i = 0; filled < tokens; i++) {
            Sampler sampler = new Sampler(
                    new SamplingParams(1f, 0, 1f, 0f, seed + i),
                    teacher.config().vocabSize());
            cache.truncate(0);
            int token = bos;
            for (int pos = 0; pos < length && filled < tokens; pos++) {
                stream[filled++] = token;
                if (pos > 0 && end.test(token) || pos == length - 1) {
                    break;
                }
                one[0] = token;
                token = sampler.sample(teacher.forward(state, one, 0, 1, pos, cache));
            }
            progress.accept((int) (100L * filled / tokens));
        }
        return stream;
    }

    private static int[] read(Path file, int tokens, int maxLength, long seed) throws IOException {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
            if (in.readInt() != MAGIC || in.readLong() != seed || in.readInt() != tokens || in.readInt() != maxLength) {
                return null;
            }
            int[] stream = new int[tokens];
            for (int i = 0; i < tokens; i++) {
                stream[i] = in.readInt();
            }
            return stream;
        } catch (java.io.EOFException e) {
            return null; // truncated: sample again
        }
    }

    private static void write(Path file, int[] stream, int maxLength, long seed) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".partial");
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp)))) {
            out.writeInt(MAGIC);
            out.writeLong(seed);
            out.writeInt(stream.length);
            out.writeInt(maxLength);
            for (int v : stream) {
                out.writeInt(v);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write teacher samples " + tmp + ": " + e.getMessage(), e);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
