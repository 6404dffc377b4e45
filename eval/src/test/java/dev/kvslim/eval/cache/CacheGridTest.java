package dev.kvslim.eval.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvShape;
import java.util.List;
import org.junit.jupiter.api.Test;

class CacheGridTest {

    private static final KvShape DMS_MODEL = new KvShape(2, 4, 2, 16, 0, 16);

    @Test
    void parsesPolicyAndRatioLists() {
        assertThat(CacheGrid.policies("none, h2o,TOVA", false)).containsExactly("none", "h2o", "tova");
        // every paged kind but dms, in KvCacheSpec's order (its test lists them)
        assertThat(CacheGrid.policies("all", false))
                .startsWith("none", "streaming")
                .endsWith("duo", "kvzip", "random")
                .doesNotContain("dms")
                .containsExactlyElementsOf(KvCacheSpec.PAGED_NAMES.stream()
                        .filter(p -> !p.equals("dms"))
                        .toList());
        assertThat(CacheGrid.policies("all", true)).hasSize(13).contains("dms");
        assertThat(CacheGrid.ratios("1,2,4,8")).containsExactly(1.0, 2.0, 4.0, 8.0);
        assertThat(CacheGrid.ratios("2.5")).containsExactly(2.5);
    }

    @Test
    void expandsTheGridWithNoneAsEveryBaselinesRatioOne() {
        List<KvCacheSpec.Paged> grid =
                CacheGrid.expand(List.of("none", "dms", "h2o", "random"), List.of(1.0, 2.0, 4.0), DMS_MODEL, 0);
        assertThat(grid)
                .extracting(KvCacheSpec::label)
                .containsExactly("none", "dms", "h2o@2", "h2o@4", "random@2", "random@4");
        assertThat(CacheGrid.expand(List.of("snapkv"), List.of(1.0, 8.0), DMS_MODEL, 0))
                .extracting(KvCacheSpec::label)
                .containsExactly("snapkv@1", "snapkv@8");
        assertThat(grid.getFirst().targetRatio()).isEqualTo(1.0);
        assertThat(grid.get(1).targetRatio()).isNull();
    }

    @Test
    void namesWhatIsWrong() {
        assertThatThrownBy(() -> CacheGrid.policies("none,h3o", false))
                .hasMessageContaining("unknown KV policy 'h3o'")
                .hasMessageContaining("snapkv");
        assertThatThrownBy(() -> CacheGrid.ratios("2,0.5")).hasMessageContaining("at least 1, got 0.5");
        assertThatThrownBy(() -> CacheGrid.ratios("two")).hasMessageContaining("not 'two'");
        assertThatThrownBy(() -> CacheGrid.ratios(" , ")).hasMessageContaining("--kv-ratio needs at least one value");
        assertThatThrownBy(() -> CacheGrid.expand(List.of("h2o"), List.of(), DMS_MODEL, 0))
                .hasMessageContaining("h2o needs");
        assertThatThrownBy(() -> KvCacheSpec.parse("none", 2.0, null, null, DMS_MODEL))
                .hasMessageContaining("keeps every token");
        assertThatThrownBy(() -> KvCacheSpec.parse("tova", 0.9, null, null, DMS_MODEL))
                .hasMessageContaining("at least 1");
    }
}
