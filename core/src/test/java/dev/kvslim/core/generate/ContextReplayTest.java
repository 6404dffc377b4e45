package dev.kvslim.core.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.kv.BlockPool;
import dev.kvslim.core.kv.KvBudget;
import dev.kvslim.core.kv.KvCacheSpec;
import dev.kvslim.core.kv.KvPolicies;
import dev.kvslim.core.kv.PagedKvCache;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.testing.Fixtures;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ContextReplayTest {

    private static final LoadedModel STORIES =
            ModelLoader.load(Fixtures.path("stories260K/stories260K.bin"), Fixtures.path("stories260K/tok512.bin"));

    private static PagedKvCache kvzip(int capacity) {
        LlamaConfig c = STORIES.model().config();
        return new KvCacheSpec.Evicting(KvPolicies.of("kvzip", KvBudget.ofRatio(4)))
                .newCache(c.kvShape(), new BlockPool(c.headSize(), 16, 1L << 24), capacity);
    }

    private static int[] prompt(int length) {
        int[] p = new SplittableRandom(3)
                .ints(length, 3, STORIES.model().config().vocabSize())
                .toArray();
        p[0] = STORIES.tokenizer().bosId();
        return p;
    }

    @Test
    void theGeneratorReplaysThePromptThenDecodesInTheBudget() {
        int[] instruction = ContextReplay.instruction(STORIES.tokenizer());
        int[] prompt = prompt(300);
        PagedKvCache cache = kvzip(prompt.length + ContextReplay.room(instruction));
        Generator.Result r = new Generator(STORIES.model(), STORIES.tokenizer())
                .generate(prompt, Generator.Options.greedy(20), cache, (b, o, l) -> {});
        // 300 prompt tokens in three replayed chunks; after them the cache holds a quarter of every token seen
        assertThat(cache.length()).isEqualTo(r.cachedPositions()).isEqualTo(319);
        assertThat(cache.compressionRatio()).isBetween(3.9, 4.0);

        // prefilled and replayed by hand, the prompt is compressed to a quarter before any decoding
        PagedKvCache byHand = kvzip(cache.capacity());
        STORIES.model().forward(STORIES.model().newState(prompt.length), prompt, 0, prompt.length, 0, byHand);
        ContextReplay.run(STORIES.model(), byHand, prompt, prompt.length, instruction);
        assertThat(byHand.length()).isEqualTo(300);
        assertThat(byHand.compressionRatio()).isCloseTo(4.0, within(1e-9));
    }

    @Test
    void aCacheWithoutRoomAfterThePromptIsALineNamingWhatItNeeds() {
        int[] instruction = ContextReplay.instruction(STORIES.tokenizer());
        int[] prompt = prompt(100);
        PagedKvCache cache = kvzip(120);
        STORIES.model().forward(STORIES.model().newState(100), prompt, 0, 100, 0, cache);
        assertThatThrownBy(() -> ContextReplay.run(STORIES.model(), cache, prompt, 100, instruction))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvzip replays the prompt after it: a 100-token prompt needs "
                        + (100 + instruction.length + ContextReplay.CHUNK) + " positions, the cache has 120");
        assertThat(ContextReplay.wanted(cache)).isTrue();
        // the generator checks the room before any prefill, and a KVzip cache takes no second turn
        Generator g = new Generator(STORIES.model(), STORIES.tokenizer());
        assertThatThrownBy(() -> g.generate(prompt, Generator.Options.greedy(4), kvzip(120), (b, o, l) -> {}))
                .hasMessageStartingWith("kvzip replays the prompt after it: a 100-token prompt needs");
        PagedKvCache roomy = kvzip(400);
        Generator.Result first = g.generate(prompt, Generator.Options.greedy(4), roomy, (b, o, l) -> {});
        assertThatThrownBy(() -> g.generate(
                        first.cachedTokens(),
                        first.cachedPositions(),
                        Generator.Options.greedy(4),
                        roomy,
                        (b, o, l) -> {}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("kvzip replays a whole prompt once, before decoding");
        assertThat(ContextReplay.wanted(STORIES.model().newDenseCache(16))).isFalse();
    }
}
