#!/usr/bin/env python3
"""Write a random-weight Hugging Face folder of Qwen3-8B's shape in NVIDIA Model-Optimizer's DMS layout.

What docs/dms.md section 5 (memory at Qwen3-8B's shape) runs on: 36 layers, 32 query / 8 KV heads of 128, FFN 12288, vocab 151936,
bf16, q_norm/k_norm, and a DMS adapter per layer (dms_proj_alpha_norm + dms_proj_alpha, `dms_separate_alpha`),
window 512 as in nvidia/Qwen3-8B-DMS-8x. The weights are random (numpy only); the adapter's offset is set so that
about 7 tokens in 8 are marked for eviction: the adapter's output per KV head is close to N(0, 1) over random hidden
states (its rows have norm ~1 and it reads an RMS-normalised input), so z = 100 * a - offset > 0 with probability
P(N(0,1) > offset / 100) = 7/8 for offset = 100 * Phi^-1(1/8) = -115.03. The achieved ratio is measured, not assumed.

usage: make_folder.py OUT_DIR TOKENIZER_JSON [--layers 36] [--seed 0]
then:  kvslim convert --model OUT_DIR --to gguf ... ; kvslim quantize --type q4_k_m ...
"""
import argparse, json, os, shutil, struct
import numpy as np

def bf16(a):
    """float32 -> bfloat16 bits, rounded to nearest even."""
    u = a.astype(np.float32).view(np.uint32)
    u = u + 0x7FFF + ((u >> 16) & 1)
    return (u >> 16).astype(np.uint16)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out"); ap.add_argument("tokenizer")
    ap.add_argument("--layers", type=int, default=36); ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    d, ffn, heads, kv, hd, vocab = 4096, 12288, 32, 8, 128, 151936
    cfg = {
        "architectures": None, "model_type": "qwen3", "hidden_size": d, "intermediate_size": ffn,
        "num_hidden_layers": a.layers, "num_attention_heads": heads, "num_key_value_heads": kv, "head_dim": hd,
        "vocab_size": vocab, "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
        "bos_token_id": 151643, "eos_token_id": 151645, "torch_dtype": "bfloat16", "tie_word_embeddings": False,
        "attention_bias": False,
        "auto_map": {"AutoConfig": "configuration_qwen3_dms.Qwen3ConfigDMS",
                     "AutoModel": "modeling_qwen3_dms.Qwen3ModelDMS",
                     "AutoModelForCausalLM": "modeling_qwen3_dms.Qwen3ForCausalLMDMS"},
        "dms_alpha_scale": 100.0, "dms_initial_alpha_offset": -115.03, "dms_window_size": 512,
        "dms_paged_attention_block_size": 256, "dms_cr": 8, "dms_disable_eviction": False, "dms_tau": 0.1,
        "dms_separate_alpha": True, "dms_alpha_per": "head",
    }
    del cfg["architectures"]  # extract.py saves none; auto_map names the class
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    shutil.copy(a.tokenizer, os.path.join(a.out, "tokenizer.json"))
    rng = np.random.default_rng(a.seed)
    shapes = [("model.embed_tokens.weight", (vocab, d), "w"), ("model.norm.weight", (d,), "one"),
              ("lm_head.weight", (vocab, d), "w")]
    for i in range(a.layers):
        p = f"model.layers.{i}."
        shapes += [(p + "input_layernorm.weight", (d,), "one"), (p + "post_attention_layernorm.weight", (d,), "one"),
                   (p + "self_attn.q_proj.weight", (heads * hd, d), "w"), (p + "self_attn.k_proj.weight", (kv * hd, d), "w"),
                   (p + "self_attn.v_proj.weight", (kv * hd, d), "w"), (p + "self_attn.o_proj.weight", (d, heads * hd), "w"),
                   (p + "self_attn.q_norm.weight", (hd,), "one"), (p + "self_attn.k_norm.weight", (hd,), "one"),
                   (p + "mlp.gate_proj.weight", (ffn, d), "w"), (p + "mlp.up_proj.weight", (ffn, d), "w"),
                   (p + "mlp.down_proj.weight", (d, ffn), "w"),
                   (p + "self_attn.dms_proj_alpha_norm.weight", (d,), "one"),
                   (p + "self_attn.dms_proj_alpha.weight", (kv, d), "adapter")]
    header, offset = {}, 0
    for name, shape, _ in sorted(shapes):
        n = 2 * int(np.prod(shape))
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text))); f.write(text)
        for name, shape, kind in sorted(shapes):
            n = int(np.prod(shape))
            if kind == "one":
                f.write(bf16(np.ones(n, np.float32)).tobytes()); continue
            std = 1 / np.sqrt(d) if kind == "adapter" else 0.02
            for start in range(0, n, 1 << 26):  # 64 M values at a time
                m = min(1 << 26, n - start)
                f.write(bf16(rng.standard_normal(m, np.float32) * np.float32(std)).tobytes())

if __name__ == "__main__":
    main()
