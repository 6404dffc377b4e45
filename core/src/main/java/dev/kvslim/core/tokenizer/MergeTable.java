package dev.kvslim.core.tokenizer;

import java.util.Arrays;

/**
 * The pairs of adjacent tokens that a BPE tokenizer merges into one token, each with a priority (lower merges
 * first), and the merge loop itself: repeatedly merge the adjacent pair of lowest priority, the leftmost one on
 * ties, until no adjacent pair merges. Runs in O(n log n) with a linked list of symbols and a heap of candidate
 * pairs; a candidate is checked against the current neighbours when it is taken, so stale ones cost nothing.
 */
final class MergeTable {

    private static final int REMOVED = -1;

    private final LongIntMap entries;
    private int[] mergedIds;
    private int[] priorities;
    private int size;

    MergeTable(int expectedSize) {
        entries = new LongIntMap(expectedSize);
        mergedIds = new int[Math.max(4, expectedSize)];
        priorities = new int[mergedIds.length];
    }

    /** Adds the merge of {@code left, right} into {@code merged}, unless that pair already merges. */
    void add(int left, int right, int merged, int priority) {
        if (!entries.putIfAbsent(LongIntMap.pair(left, right), size)) {
            return;
        }
        if (size == mergedIds.length) {
            mergedIds = Arrays.copyOf(mergedIds, size * 2);
            priorities = Arrays.copyOf(priorities, size * 2);
        }
        mergedIds[size] = merged;
        priorities[size] = priority;
        size++;
    }

    /**
     * Merges {@code ids[from..to)} in place and returns the end of the merged run, which starts at {@code from}.
     */
    int mergeAll(int[] ids, int from, int to) {
        int n = to - from;
        if (n < 2) {
            return to;
        }
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        LongHeap candidates = new LongHeap(2 * n);
        for (int i = 0; i + 1 < n; i++) {
            offer(candidates, ids[from + i], ids[from + i + 1], i);
        }
        while (!candidates.isEmpty()) {
            long candidate = candidates.poll();
            int left = (int) candidate;
            int right = next[left];
            if (ids[from + left] == REMOVED || right < 0) {
                continue;
            }
            int entry = entries.get(LongIntMap.pair(ids[from + left], ids[from + right]));
            if (entry < 0 || priorities[entry] != (int) (candidate >> 32)) {
                continue;
            }
            ids[from + left] = mergedIds[entry];
            ids[from + right] = REMOVED;
            next[left] = next[right];
            if (next[left] >= 0) {
                prev[next[left]] = left;
                offer(candidates, ids[from + left], ids[from + next[left]], left);
            }
            if (prev[left] >= 0) {
                offer(candidates, ids[from + prev[left]], ids[from + left], prev[left]);
            }
        }
        int end = from;
        for (int i = 0; i >= 0; i = next[i]) {
            ids[end++] = ids[from + i];
        }
        return end;
    }

    private void offer(LongHeap candidates, int leftId, int rightId, int leftPosition) {
        int entry = entries.get(LongIntMap.pair(leftId, rightId));
        if (entry >= 0) {
            candidates.add((long) priorities[entry] << 32 | leftPosition);
        }
    }

    /** A growable binary min-heap of longs. */
    private static final class LongHeap {

        private long[] heap;
        private int size;

        LongHeap(int capacity) {
            heap = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void add(long value) {
            if (size == heap.length) {
                heap = Arrays.copyOf(heap, size * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (heap[parent] <= value) {
                    break;
                }
                heap[i] = heap[parent];
                i = parent;
            }
            heap[i] = value;
        }

        long poll() {
            long top = heap[0];
            long last = heap[--size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) {
                    break;
                }
                if (child + 1 < size && heap[child + 1] < heap[child]) {
                    child++;
                }
                if (heap[child] >= last) {
                    break;
                }
                heap[i] = heap[child];
                i = child;
            }
            heap[i] = last;
            return top;
        }
    }
}
