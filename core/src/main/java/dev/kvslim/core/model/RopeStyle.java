package dev.kvslim.core.model;

/** How rotary position embedding pairs the channels of a head. */
public enum RopeStyle {
    /** Channels (2i, 2i+1): llama2.c, and GGUF llama models (whose Q/K rows the converter permuted). */
    INTERLEAVED,
    /** Channels (i, i + d/2), "rotate half": Hugging Face transformers and GPT-NeoX. */
    HALF
}
