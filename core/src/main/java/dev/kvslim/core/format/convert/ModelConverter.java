package dev.kvslim.core.format.convert;

import dev.kvslim.core.format.gguf.GgufFile;
import dev.kvslim.core.format.gguf.GgufModels;
import dev.kvslim.core.format.gguf.GgufQuantizer;
import dev.kvslim.core.format.gguf.GgufWriter;
import dev.kvslim.core.format.hf.HuggingFaceConfigWriter;
import dev.kvslim.core.format.hf.HuggingFaceModels;
import dev.kvslim.core.format.safetensors.SafetensorsWriter;
import dev.kvslim.core.io.AtomicFiles;
import dev.kvslim.core.io.ModelFormatException;
import dev.kvslim.core.kv.DmsRule;
import dev.kvslim.core.model.DmsConfig;
import dev.kvslim.core.model.LlamaConfig;
import dev.kvslim.core.model.LlamaWeights;
import dev.kvslim.core.model.Model;
import dev.kvslim.core.model.RopeStyle;
import dev.kvslim.core.tensor.FloatTensor;
import dev.kvslim.core.tensor.GgmlType;
import dev.kvslim.core.tensor.LittleEndian;
import dev.kvslim.core.tensor.Quantizer;
import dev.kvslim.core.tensor.Tensors;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Converts models between Hugging Face folders (config.json + safetensors + tokenizer.json) and GGUF, with
 * llama.cpp's names: weights keep their type (GGUF's block types become F32 in safetensors, which has none),
 * {@code llama} GGUFs get their query/key rows permuted for interleaved RoPE as llama.cpp's converter does (and
 * back), Llama 3.1 RoPE scaling becomes {@code rope_freqs.weight}, and the vocabulary travels along.
 */
public final class ModelConverter {

    /** What a conversion wrote, and anything a reader should know about it. */
    public record Report(Path output, List<String> notes) {}

    private ModelConverter() {}

    // ---------------------------------------------------------------- Hugging Face folder to GGUF

    public static Report folderToGguf(Path folder, Path out) throws IOException {
        Model m = HuggingFaceModels.load(folder);
        LlamaConfig c = m.config();
        LlamaWeights w = m.weights();
        String arch = switch (c.architecture()) {
            case "LlamaForCausalLM", "MistralForCausalLM" -> "llama";
            case "Qwen2ForCausalLM" -> "qwen2";
            case "Qwen3ForCausalLM" -> "qwen3";
            default -> throw new ModelFormatException(folder, "cannot convert " + c.architecture());
        };
        boolean permute = arch.equals("llama");
        List<String> notes = new ArrayList<>();
        GgufWriter g = new GgufWriter();
        g.putString("general.architecture", arch);
        g.putString("general.name", folder.toAbsolutePath().getFileName().toString());
        String p = arch + ".";
        g.putUInt32(p + "context_length", c.contextLength());
        g.putUInt32(p + "embedding_length", c.dim());
        g.putUInt32(p + "block_count", c.layers());
        g.putUInt32(p + "feed_forward_length", c.hiddenDim());
        g.putUInt32(p + "attention.head_count", c.heads());
        g.putUInt32(p + "attention.head_count_kv", c.kvHeads());
        g.putUInt32(p + "attention.key_length", c.headSize());
        g.putUInt32(p + "attention.value_length", c.headSize());
        g.putFloat32(p + "attention.layer_norm_rms_epsilon", c.normEps());
        g.putFloat32(p + "rope.freq_base", c.ropeTheta());
        g.putUInt32(p + "rope.dimension_count", c.headSize());
        g.putUInt32(p + "vocab_size", c.vocabSize());
        if (c.slidingWindow() > 0) {
            g.putUInt32(p + "attention.sliding_window", c.slidingWindow());
        }
        g.putUInt32("general.file_type", GgufQuantizer.fileType(dominantType(w)));
        if (c.dms() != null) {
            g.putUInt32(p + "dms.window_size", c.dms().window());
            g.putFloat32(p + "dms.alpha_scale", c.dms().scale());
            g.putFloat32(p + "dms.alpha_offset", c.dms().offset());
            g.putString(
                    p + "dms.variant", c.dms().variant() == DmsConfig.Variant.ADAPTER ? "adapter" : "query_channel");
            g.putString(p + "dms.alpha_per", c.dms().perLayer() ? "layer" : "head");
            if (c.dms().rule() == DmsRule.FASTDMS) {
                g.putString(p + "dms.rule", "fastdms");
            }
        }

        Path tokenizerJson = folder.resolve("tokenizer.json");
        Path vocabularyGguf = folder.resolve("tokenizer.gguf");
        if (Files.exists(tokenizerJson)) {
            TokenizerConversion.toGguf(tokenizerJson, folder.resolve("tokenizer_config.json"))
                    .forEach(g::put);
        } else if (Files.exists(vocabularyGguf)) {
            TokenizerConversion.copyVocabulary(GgufFile.read(vocabularyGguf), g);
        } else {
            notes.add("no tokenizer.json or tokenizer.gguf in " + folder + ": the GGUF has no vocabulary");
        }

        try (Arena arena = Arena.ofConfined()) {
            matrix(g, "token_embd.weight", w.tokenEmbedding());
            for (int l = 0; l < c.layers(); l++) {
                String b = "blk." + l + ".";
                vector(g, arena, b + "attn_norm.weight", w.attnNorm()[l]);
                matrix(g, b + "attn_q.weight", permute ? permuteRows(w.wq()[l], c.heads(), true, arena) : w.wq()[l]);
                matrix(g, b + "attn_k.weight", permute ? permuteRows(w.wk()[l], c.kvHeads(), true, arena) : w.wk()[l]);
                matrix(g, b + "attn_v.weight", w.wv()[l]);
                matrix(g, b + "attn_output.weight", w.wo()[l]);
                vector(g, arena, b + "ffn_norm.weight", w.ffnNorm()[l]);
                matrix(g, b + "ffn_gate.weight", w.w1()[l]);
                matrix(g, b + "ffn_up.weight", w.w3()[l]);
                matrix(g, b + "ffn_down.weight", w.w2()[l]);
                if (w.qBias() != null) {
                    vector(g, arena, b + "attn_q.bias", w.qBias()[l]);
                    vector(g, arena, b + "attn_k.bias", w.kBias()[l]);
                    vector(g, arena, b + "attn_v.bias", w.vBias()[l]);
                }
                if (w.qNorm() != null) {
                    vector(g, arena, b + "attn_q_norm.weight", w.qNorm()[l]);
                    vector(g, arena, b + "attn_k_norm.weight", w.kNorm()[l]);
                }
                if (w.dmsProj() != null) {
                    vector(g, arena, b + "dms_alpha_norm.weight", w.dmsNorm()[l]);
                    matrix(g, b + "dms_alpha.weight", w.dmsProj()[l]);
                }
            }
            vector(g, arena, "output_norm.weight", w.finalNorm());
            if (!c.tiedEmbeddings()) {
                matrix(g, "output.weight", w.classifier());
            }
            if (c.ropeScaling() != null) {
                vector(g, arena, "rope_freqs.weight", c.ropeScalingAsFactors());
            }
            g.write(out);
        }
        return new Report(out, notes);
    }

    private static void matrix(GgufWriter g, String name, FloatTensor t) {
        g.addTensor(name, t.type(), new long[] {t.cols(), t.rows()}, t.segment());
    }

    private static void vector(GgufWriter g, Arena arena, String name, float[] v) {
        g.addTensor(name, GgmlType.F32, new long[] {v.length}, f32(arena, v));
    }

    private static MemorySegment f32(Arena arena, float[] v) {
        MemorySegment seg = arena.allocate((long) v.length * Float.BYTES);
        MemorySegment.copy(v, 0, seg, LittleEndian.F32, 0, v.length);
        return seg;
    }

    /**
     * Reorders the rows of each head between Hugging Face's rotate-half pairing (channel i with i + d/2) and the
     * interleaved pairing (2i with 2i + 1) that llama.cpp's {@code llama} architecture expects.
     */
    static FloatTensor permuteRows(FloatTensor t, int heads, boolean toInterleaved, Arena arena) {
        int rows = Math.toIntExact(t.rows());
        int d = rows / heads;
        long rowBytes = t.segment().byteSize() / rows;
        MemorySegment out = arena.allocate(t.segment().byteSize(), 64);
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < d / 2; i++) {
                for (int j = 0; j < 2; j++) {
                    long interleaved = (long) h * d + 2L * i + j;
                    long half = (long) h * d + (long) j * (d / 2) + i;
                    long from = toInterleaved ? half : interleaved;
                    long to = toInterleaved ? interleaved : half;
                    MemorySegment.copy(t.segment(), from * rowBytes, out, to * rowBytes, rowBytes);
                }
            }
        }
        return Tensors.of(t.type(), out, t.rows(), t.cols());
    }

    private static GgmlType dominantType(LlamaWeights w) {
        Map<GgmlType, Long> sizes = new LinkedHashMap<>();
        for (FloatTensor t : w.matrices()) {
            sizes.merge(t.type(), t.size(), Long::sum);
        }
        return sizes.entrySet().stream()
                .max(Map.Entry.comparingByValue())
                .orElseThrow()
                .getKey();
    }

    // ---------------------------------------------------------------- GGUF to Hugging Face folder

    public static Report ggufToFolder(Path ggufPath, Path folder) throws IOException {
        if (Files.exists(folder)) {
            try (Stream<Path> entries = Files.list(folder)) {
                if (entries.findAny().isPresent()) {
                    throw new IllegalArgumentException(folder + " exists and is not empty; choose a new folder");
                }
            }
        }
        GgufFile f = GgufFile.read(ggufPath);
        Model m = GgufModels.load(f);
        LlamaConfig c = m.config();
        LlamaWeights w = m.weights();
        if (c.ropeFactors() != null) {
            throw new ModelFormatException(ggufPath, "rope_freqs.weight has no exact config.json form; not converted");
        }
        String arch = f.requireString("general.architecture");
        boolean unpermute = c.ropeStyle() == RopeStyle.INTERLEAVED;
        String hfArch = switch (arch) {
            case "llama" -> c.slidingWindow() > 0 ? "MistralForCausalLM" : "LlamaForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            case "qwen3" -> "Qwen3ForCausalLM";
            default -> throw new ModelFormatException(ggufPath, "cannot convert architecture " + arch);
        };
        List<String> notes = new ArrayList<>();
        Path tmp = AtomicFiles.partialDirectory(folder);
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter s = new SafetensorsWriter();
            hfMatrix(s, arena, "model.embed_tokens.weight", w.tokenEmbedding(), notes);
            for (int l = 0; l < c.layers(); l++) {
                String b = "model.layers." + l + ".";
                hfVector(s, arena, b + "input_layernorm.weight", w.attnNorm()[l]);
                hfMatrix(
                        s,
                        arena,
                        b + "self_attn.q_proj.weight",
                        unpermute ? permuteRows(w.wq()[l], c.heads(), false, arena) : w.wq()[l],
                        notes);
                hfMatrix(
                        s,
                        arena,
                        b + "self_attn.k_proj.weight",
                        unpermute ? permuteRows(w.wk()[l], c.kvHeads(), false, arena) : w.wk()[l],
                        notes);
                hfMatrix(s, arena, b + "self_attn.v_proj.weight", w.wv()[l], notes);
                hfMatrix(s, arena, b + "self_attn.o_proj.weight", w.wo()[l], notes);
                hfVector(s, arena, b + "post_attention_layernorm.weight", w.ffnNorm()[l]);
                hfMatrix(s, arena, b + "mlp.gate_proj.weight", w.w1()[l], notes);
                hfMatrix(s, arena, b + "mlp.up_proj.weight", w.w3()[l], notes);
                hfMatrix(s, arena, b + "mlp.down_proj.weight", w.w2()[l], notes);
                if (w.qBias() != null) {
                    hfVector(s, arena, b + "self_attn.q_proj.bias", w.qBias()[l]);
                    hfVector(s, arena, b + "self_attn.k_proj.bias", w.kBias()[l]);
                    hfVector(s, arena, b + "self_attn.v_proj.bias", w.vBias()[l]);
                }
                if (w.qNorm() != null) {
                    hfVector(s, arena, b + "self_attn.q_norm.weight", w.qNorm()[l]);
                    hfVector(s, arena, b + "self_attn.k_norm.weight", w.kNorm()[l]);
                }
                if (w.dmsProj() != null) {
                    hfVector(s, arena, b + HuggingFaceModels.DMS_NORM, w.dmsNorm()[l]);
                    hfMatrix(s, arena, b + HuggingFaceModels.DMS_PROJ, w.dmsProj()[l], notes);
                }
            }
            hfVector(s, arena, "model.norm.weight", w.finalNorm());
            if (!c.tiedEmbeddings()) {
                hfMatrix(s, arena, "lm_head.weight", w.classifier(), notes);
            }
            s.metadata("format", "pt");
            s.write(tmp.resolve("model.safetensors"));
        }
        writeConfig(tmp, c, hfArch, arch, f, dominantType(w));
        String tokenizerModel = f.getString("tokenizer.ggml.model", null);
        if ("gpt2".equals(tokenizerModel)) {
            Files.writeString(tmp.resolve("tokenizer.json"), TokenizerConversion.toTokenizerJson(f));
        } else if (tokenizerModel != null) {
            TokenizerConversion.writeVocabularyOnly(f, tmp.resolve("tokenizer.gguf"));
            notes.add("the " + tokenizerModel + " (SentencePiece) vocabulary went to tokenizer.gguf: it has no"
                    + " tokenizer.json form here");
        } else {
            notes.add(ggufPath + " has no vocabulary");
        }
        String tokenizerConfig = TokenizerConversion.toTokenizerConfig(f);
        if (tokenizerConfig != null) {
            Files.writeString(tmp.resolve("tokenizer_config.json"), tokenizerConfig);
        }
        List<String> deduped = notes.stream().distinct().toList();
        try {
            Files.move(tmp, folder, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteTree(tmp);
            throw e;
        }
        return new Report(folder, deduped);
    }

    private static void hfMatrix(SafetensorsWriter s, Arena arena, String name, FloatTensor t, List<String> notes) {
        long[] shape = {t.rows(), t.cols()};
        switch (t.type()) {
            case F32, F16, BF16 -> s.add(name, t.type(), shape, t.segment());
            default -> {
                notes.add(t.format() + " matrices were expanded to F32 (safetensors has no block types)");
                s.add(name, GgmlType.F32, shape, Quantizer.encode(t, GgmlType.F32, arena));
            }
        }
    }

    private static void hfVector(SafetensorsWriter s, Arena arena, String name, float[] v) {
        s.add(name, GgmlType.F32, new long[] {v.length}, f32(arena, v));
    }

    private static void writeConfig(Path dir, LlamaConfig c, String hfArch, String arch, GgufFile f, GgmlType type)
            throws IOException {
        String dtype = switch (type) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> "float32";
        };
        HuggingFaceConfigWriter.write(
                dir,
                c,
                hfArch,
                hfArch.equals("MistralForCausalLM") ? "mistral" : arch,
                dtype,
                f.getLong("tokenizer.ggml.bos_token_id", -1),
                f.getLong("tokenizer.ggml.eos_token_id", -1));
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
