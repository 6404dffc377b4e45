package dev.kvslim.core.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.tensor.Kernels;
import org.junit.jupiter.api.Test;

/** The one reading of a cache choice: what {@code auto} becomes, which flags go together, labels and the factory. */
class KvCacheSpecTest {

    private static final KvShape PLAIN = new KvShape(2, 4, 2, 16, 0, -1);
    private static final KvShape DMS = new KvShape(2, 4, 2, 16, 0, 16);

    private static KvCacheSpec parse(
            String name, Double ratio, Integer tokens, Integer window, KvShape model, boolean paged) {
        return KvCacheSpec.parse(name, ratio, tokens, window, model, KvType.F32, paged, KvPolicies.Options.DEFAULTS);
    }

    @Test
    void autoIsDmsOnADmsModelElseDenseOrKeepAllWhenPaged() {
        assertThat(parse("auto", null, null, null, DMS, false)).isEqualTo(new KvCacheSpec.Dms(16));
        assertThat(parse("auto", null, null, null, DMS, true)).isEqualTo(new KvCacheSpec.Dms(16));
        assertThat(parse("auto", null, null, null, PLAIN, false)).isEqualTo(new KvCacheSpec.Dense());
        assertThat(parse("auto", null, null, null, PLAIN, true)).isEqualTo(new KvCacheSpec.KeepAll());
        assertThat(parse("auto", null, null, 4, DMS, true)).isEqualTo(new KvCacheSpec.Dms(4));
        assertThat(KvCacheSpec.modelDefault(PLAIN)).isEqualTo(KvCacheSpec.keepAll());
        assertThat(KvCacheSpec.modelDefault(DMS)).isEqualTo(new KvCacheSpec.Dms(16));
    }

    @Test
    void namesInAnyCaseBaselinesWithARatioOrTokens() {
        KvCacheSpec h2o = parse("H2O", 4.0, null, null, PLAIN, true);
        assertThat(h2o.name()).isEqualTo("h2o");
        assertThat(h2o.label()).isEqualTo("h2o@4");
        assertThat(h2o.targetRatio()).isEqualTo(4.0);
        assertThat(h2o.evicts()).isTrue();
        KvCacheSpec tova = parse("tova", null, 64, null, PLAIN, true);
        assertThat(tova.label()).isEqualTo("tova@64tok");
        assertThat(tova.targetRatio()).isNull();
        assertThat(parse("snapkv", 2.5, null, null, PLAIN, true).label()).isEqualTo("snapkv@2.5");
        assertThat(parse("none", null, null, null, PLAIN, true).label()).isEqualTo("none");
        assertThat(parse("none", null, null, null, PLAIN, true).targetRatio()).isEqualTo(1.0);
        assertThat(parse("dms", null, null, null, DMS, true).targetRatio()).isNull();
        assertThat(parse("dense", null, null, null, DMS, false).evicts()).isFalse();
        assertThat(KvCacheSpec.NAMES)
                .containsExactly(
                        "auto",
                        "dense",
                        "none",
                        "dms",
                        "streaming",
                        "h2o",
                        "tova",
                        "snapkv",
                        "knorm",
                        "keydiff",
                        "expected-attention",
                        "adakv",
                        "duo",
                        "kvzip",
                        "random");
    }

    @Test
    void everyMismatchIsOneLineNamingTheFlag() {
        assertThatThrownBy(() -> parse("lru", 2.0, null, null, PLAIN, true))
                .hasMessage("unknown KV policy 'lru'; supported: auto, dense, none, dms, streaming, h2o, tova, snapkv,"
                        + " knorm, keydiff, expected-attention, adakv, duo, kvzip, random");
        assertThatThrownBy(() -> parse("dms", null, null, null, PLAIN, true))
                .hasMessageContaining("retrofitted with DMS");
        assertThatThrownBy(() -> parse("auto", null, null, 8, PLAIN, true)).hasMessageContaining("--kv-window");
        assertThatThrownBy(() -> parse("h2o", null, null, null, PLAIN, true))
                .hasMessageContaining("needs one of --kv-ratio and --kv-tokens");
        assertThatThrownBy(() -> parse("h2o", 2.0, 8, null, PLAIN, true)).hasMessageContaining("needs one of");
        assertThatThrownBy(() -> parse("h2o", 0.5, null, null, PLAIN, true))
                .hasMessageContaining("--kv-ratio must be at" + " least 1, got 0.5");
        assertThatThrownBy(() -> parse("h2o", null, 0, null, PLAIN, true)).hasMessageContaining("--kv-tokens must be");
        assertThatThrownBy(() -> parse("dms", 4.0, null, null, DMS, true)).hasMessageContaining("learned");
        assertThatThrownBy(() -> parse("none", null, 4, null, DMS, true)).hasMessageContaining("keeps every token");
        assertThatThrownBy(() -> parse("dense", null, null, null, PLAIN, true)).hasMessageContaining("use none");
        assertThatThrownBy(() -> KvCacheSpec.parse(
                        "dense", null, null, null, PLAIN, KvType.F16, false, KvPolicies.Options.DEFAULTS))
                .hasMessageContaining("--kv-type f16 needs the paged cache");
        assertThat(KvCacheSpec.parse("auto", null, null, null, PLAIN, KvType.BF16, false, KvPolicies.Options.DEFAULTS))
                .isEqualTo(KvCacheSpec.keepAll());
        assertThatThrownBy(() -> new KvCacheSpec.Dms(-1)).hasMessageContaining(">= 0");
    }

    @Test
    void theFactoryMakesTheCacheOfEachKind() {
        BlockPool pool = new BlockPool(16, Kernels.lanes(), 1L << 20);
        assertThat(new KvCacheSpec.Dense().newCache(PLAIN, null, 8)).isInstanceOf(DenseKvCache.class);
        PagedKvCache keep = KvCacheSpec.keepAll().newCache(PLAIN, pool, 8);
        assertThat(keep.spec()).isEqualTo(KvCacheSpec.keepAll());
        PagedKvCache dms = KvCacheSpec.dms(DMS).newCache(DMS, pool, 8);
        assertThat(dms.spec()).isEqualTo(new KvCacheSpec.Dms(16));
        assertThatThrownBy(() -> new KvCacheSpec.Dms(4).newCache(PLAIN, pool, 8))
                .hasMessageContaining("not retrofitted with DMS");
    }

    @Test
    void blocksAndBytesForNTokensCountEveryLayerAndKvHead() {
        // 2 layers x 2 KV heads, blocks of 16 tokens: 17 tokens take 2 blocks per head
        assertThat(PLAIN.blocksFor(17, 16)).isEqualTo(8);
        assertThat(PLAIN.blocksFor(16, 16)).isEqualTo(4);
        assertThat(PLAIN.blocksFor(0, 16)).isZero();
        // a block holds keys and values: 2 x headSize x blockSize elements
        assertThat(PLAIN.blockBytesFor(17, 16, KvType.F32)).isEqualTo(8L * 2 * 16 * 16 * 4);
        assertThat(PLAIN.blockBytesFor(17, 16, KvType.F16)).isEqualTo(8L * 2 * 16 * 16 * 2);
        assertThatThrownBy(() -> new KvShape(2, 4, 3, 16, 0, -1)).hasMessageContaining("dividing the heads");
    }
}
