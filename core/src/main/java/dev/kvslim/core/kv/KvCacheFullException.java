package dev.kvslim.core.kv;

/**
 * The KV block pool cannot hold the tokens asked for. Thrown before anything is stored, so the cache is left as
 * it was; a caller can free memory (finish, preempt or compress other sequences) and try again.
 */
public final class KvCacheFullException extends RuntimeException {

    private final long blocksNeeded;
    private final long blocksFree;

    public KvCacheFullException(long blocksNeeded, long blocksFree, long budgetBytes) {
        super("KV cache budget of " + budgetBytes + " bytes exhausted: " + blocksNeeded + " more blocks needed, "
                + blocksFree + " free");
        this.blocksNeeded = blocksNeeded;
        this.blocksFree = blocksFree;
    }

    public long blocksNeeded() {
        return blocksNeeded;
    }

    public long blocksFree() {
        return blocksFree;
    }
}
