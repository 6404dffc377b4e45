package dev.kvslim.core.kv;

import java.util.Arrays;

/**
 * DuoAttention, its on-the-fly variant (Xiao et al., "DuoAttention: Efficient Long-Context LLM Inference with
 * Retrieval and Streaming Heads", arXiv 2410.10819; kvpress {@code DuoAttentionPress(on_the_fly_scoring=True)}):
 * a few KV heads are retrieval heads and keep every token; the others are streaming heads and keep the first
 * {@code sinks} tokens and the most recent ones. The budget belongs to the whole cache: with H heads (layers x KV
 * heads), each keeping {@code keep} on average, there are {@code m = floor(H (keep - W0) / (seen - W0))} retrieval
 * heads, the most that leave every streaming head at least {@code W0 = sinks + recent} tokens, and the streaming
 * heads share what the retrieval heads leave ({@code W = floor((H keep - m seen) / (H - m))} each).
 * <p>Which heads retrieve is decided once, the first time the cache is over its budget, from a score per head as
 * kvpress computes on the fly: the mean query and mean key of the head before RoPE (here over the sequence seen so
 * far; kvpress averages 50 BookSum texts), repeated at positions 0 .. 499 and rotated, give the attention of the last
 * position over the others; the area under its cumulative sum (high when attention reaches far back) ranks the
 * heads, averaged over each group's query heads. As the sequence grows {@code m} only shrinks (the retrieval head of
 * lowest score turns streaming): a streaming head cannot get back what it dropped. That first decision waits for
 * the batch to pass the last layer, so in that batch the earlier layers hold their tokens a little longer.
 */
final class DuoAttentionPolicy extends EvictionPolicy {

    /** Positions of kvpress's on-the-fly head score. */
    static final int SCORE_POSITIONS = 500;

    /** What one cache's heads share: key and query means, then the heads in order of score. */
    private static final class Shared {
        final KvShape shape;
        final double[][] keySum; // [layer * kvHeads + h][headSize], pre-RoPE
        final long[] keyCount;
        final double[][] querySum; // [layer * kvHeads + h][group * headSize], pre-RoPE
        final long[] queryCount;
        int[] standing; // per head, its place in the order of score (0: the highest), or null before the decision
        int retrieval = Integer.MAX_VALUE;

        Shared(KvShape shape) {
            this.shape = shape;
            int heads = shape.layers() * shape.kvHeads();
            keySum = new double[heads][shape.headSize()];
            keyCount = new long[heads];
            querySum = new double[heads][shape.groupSize() * shape.headSize()];
            queryCount = new long[heads];
        }
    }

    private final int sinks;
    private final int recent;
    private final Shared shared;
    private final int index; // layer * kvHeads + kvHead of a head's copy, else -1

    DuoAttentionPolicy(KvBudget budget, int sinks, int recent) {
        this(budget, sinks, recent, null, -1);
    }

    private DuoAttentionPolicy(KvBudget budget, int sinks, int recent, Shared shared, int index) {
        super("duo", budget);
        if (recent < 1) {
            throw new IllegalArgumentException("DuoAttention's streaming heads need recent >= 1, not " + recent);
        }
        this.sinks = sinks;
        this.recent = recent;
        this.shared = shared;
        this.index = index;
    }

    @Override
    EvictionPolicy forCache(KvShape shape) {
        return new DuoAttentionPolicy(budget(), sinks, recent, new Shared(shape), -1);
    }

    @Override
    EvictionPolicy forHead(int layer, int kvHead) {
        return new DuoAttentionPolicy(budget(), sinks, recent, shared, layer * shared.shape.kvHeads() + kvHead);
    }

    @Override
    int observedQueries(int batch) {
        return batch;
    }

    @Override
    void stored(HeadStore head, int slot, float[] k, int kOff) {
        int hs = head.headSize();
        double[] x = unrotated(k, kOff, 1, hs, head.position(slot));
        for (int c = 0; c < hs; c++) {
            shared.keySum[index][c] += x[c];
        }
        shared.keyCount[index]++;
    }

    @Override
    void observe(HeadStore head, Observation batch) {
        int width = batch.group() * head.headSize();
        for (int i = 0; i < batch.count(); i++) {
            double[] x =
                    unrotated(batch.queries(), batch.queryOffset(i), batch.group(), head.headSize(), batch.position(i));
            for (int j = 0; j < width; j++) {
                shared.querySum[index][j] += x[j];
            }
            shared.queryCount[index]++;
        }
    }

    // a head's copy's scratch: the vectors taken back to before RoPE, and the angles of one position
    private double[] buffer = new double[0], cos, sin;

    /** The {@code heads} heads of {@code hs} channels at {@code v[off..]}, turned back from {@code position}. */
    private double[] unrotated(float[] v, int off, int heads, int hs, int position) {
        Rotary rotary = shared.shape.rotary();
        if (buffer.length < heads * hs) {
            buffer = new double[heads * hs];
            cos = new double[rotary.pairs()];
            sin = new double[rotary.pairs()];
        }
        for (int j = 0; j < heads * hs; j++) {
            buffer[j] = v[off + j];
        }
        rotary.angles(-position, cos, sin);
        for (int h = 0; h < heads; h++) {
            rotary.turn(buffer, h * hs, hs, cos, sin);
        }
        return buffer;
    }

    /** A streaming head's ranks: its sinks, then by position. */
    @Override
    void rank(HeadStore head, int keep, Observation batch, float[] rank) {
        StreamingLlmPolicy.rankSinksThenRecent(head, Math.min(sinks, keep - 1), rank);
    }

    @Override
    void afterAttention(PolicyHeads heads, int layer) {
        heads.forEachHead(layer, (h, head, policy, batch) -> policy.observe(head, batch));
        HeadStore first = heads.head(layer, 0);
        long seen = first.seen();
        int keep = heads.keep(first);
        if (keep >= seen) {
            return;
        }
        if (shared.standing == null) {
            if (layer < heads.layers() - 1) {
                return; // decide once every layer has seen the batch
            }
            shared.standing = standing();
            shared.retrieval = retrievalHeads(seen, keep);
            for (int l = 0; l < heads.layers(); l++) {
                evictStreaming(heads, l, seen, keep);
            }
        } else {
            shared.retrieval = Math.min(shared.retrieval, retrievalHeads(seen, keep));
            evictStreaming(heads, layer, seen, keep);
        }
    }

    /** The most retrieval heads that leave every streaming head {@code sinks + recent} tokens. */
    private int retrievalHeads(long seen, int keep) {
        int heads = shared.standing.length, floor = sinks + recent;
        if (keep <= floor) {
            return 0;
        }
        return (int) Math.min(heads - 1, (long) heads * (keep - floor) / (seen - floor));
    }

    /** Cuts the streaming heads of {@code layer} to their share of the budget. */
    private void evictStreaming(PolicyHeads heads, int layer, long seen, int keep) {
        int total = shared.standing.length, m = shared.retrieval;
        int window = (int) Math.max(1, ((long) total * keep - (long) m * seen) / (total - m));
        int base = layer * heads.kvHeads();
        heads.forEachHead(layer, (h, head, policy, batch) -> {
            int excess = head.live() - window;
            if (shared.standing[base + h] >= m && excess > 0) {
                float[] rank = batch.rank();
                StreamingLlmPolicy.rankSinksThenRecent(head, Math.min(sinks, window - 1), rank);
                head.evictLowest(excess, rank);
            }
        });
    }

    /** Each head's place when ordered by score, highest first (ties: the lower layer and head). */
    private int[] standing() {
        int heads = shared.keySum.length;
        double[] score = new double[heads];
        Integer[] order = new Integer[heads];
        for (int i = 0; i < heads; i++) {
            score[i] = score(i);
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> score[a] != score[b] ? Double.compare(score[b], score[a]) : Integer.compare(a, b));
        int[] standing = new int[heads];
        for (int place = 0; place < heads; place++) {
            standing[order[place]] = place;
        }
        return standing;
    }

    /**
     * kvpress's on-the-fly score of a head: the mean query at position L-1 against the mean key at 0 .. L-1 (both
     * rotated), softmax, and the mean of the cumulative sum of the weights, averaged over the group.
     */
    double score(int head) {
        KvShape shape = shared.shape;
        int hs = shape.headSize(), group = shape.groupSize(), positions = SCORE_POSITIONS;
        Rotary rotary = shape.rotary();
        double[] key = new double[hs], turned = new double[hs];
        long keys = Math.max(1, shared.keyCount[head]), queries = Math.max(1, shared.queryCount[head]);
        for (int c = 0; c < hs; c++) {
            key[c] = shared.keySum[head][c] / keys;
        }
        double scale = 1 / Math.sqrt(hs);
        double[] cos = new double[rotary.pairs()], sin = new double[rotary.pairs()];
        double[][] logits = new double[group][positions];
        for (int j = 0; j < positions; j++) {
            // q R(L-1)' R(j) k = q . R(j - (L-1)) k
            rotary.angles(j - (positions - 1), cos, sin);
            System.arraycopy(key, 0, turned, 0, hs);
            rotary.turn(turned, 0, hs, cos, sin);
            for (int g = 0; g < group; g++) {
                double dot = 0;
                for (int c = 0; c < hs; c++) {
                    dot += shared.querySum[head][g * hs + c] / queries * turned[c];
                }
                logits[g][j] = dot * scale;
            }
        }
        double area = 0;
        for (int g = 0; g < group; g++) {
            double max = Arrays.stream(logits[g]).max().orElse(0), total = 0;
            for (int j = 0; j < positions; j++) {
                total += Math.exp(logits[g][j] - max);
            }
            // mean over j of the cumulative weight up to j: weight w_j counts in (positions - j) of the sums
            for (int j = 0; j < positions; j++) {
                area += Math.exp(logits[g][j] - max) / total * (positions - j) / positions;
            }
        }
        return area / group;
    }
}
