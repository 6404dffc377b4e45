package dev.kvslim.core.generate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.kv.KvCache;
import dev.kvslim.core.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class GeneratorTest {

    private static LoadedModel stories() {
        return ModelLoader.load(Fixtures.path("stories260K/stories260K.bin"), Fixtures.path("stories260K/tok512.bin"));
    }

    @Test
    void aSecondTurnReusesTheCachedPrefixAndMatchesAFreshRun() {
        LoadedModel m = stories();
        Generator g = new Generator(m.model(), m.tokenizer());
        KvCache cache = m.model().newDenseCache(256);
        int[] first = m.tokenizer().encode("Once upon a time", true);
        Generator.Result r1 = g.generate(first, Generator.Options.greedy(20), cache, (b, o, l) -> {});
        assertThat(r1.cachedPositions()).isEqualTo(first.length + 19);

        int[] more = m.tokenizer().encode(" The dog", false);
        int[] second = Arrays.copyOf(r1.cachedTokens(), r1.cachedPositions() + more.length);
        System.arraycopy(more, 0, second, r1.cachedPositions(), more.length);
        ByteArrayOutputStream reused = new ByteArrayOutputStream(), fresh = new ByteArrayOutputStream();
        Generator.Result r2 =
                g.generate(second, r1.cachedPositions(), Generator.Options.greedy(30), cache, reused::write);
        Generator.Result r3 =
                g.generate(second, Generator.Options.greedy(30), m.model().newDenseCache(256), fresh::write);
        assertThat(r2.generated()).containsExactly(r3.generated());
        assertThat(reused.toByteArray()).isEqualTo(fresh.toByteArray()).isNotEmpty();
    }
}
