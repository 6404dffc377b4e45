#!/usr/bin/env python3
"""Writes tiny random-weight Hugging Face model folders and their reference outputs for KVSlim's parity tests.

For each architecture KVSlim loads from Hugging Face folders (Llama with Llama 3.1 RoPE scaling, Mistral with a
sliding window, Qwen2 with QKV bias and tied embeddings, Qwen3 with per-head q/k norms and a head size that is not
hidden/heads), in float32 and bfloat16 weights, this writes config.json, generation_config.json and safetensors
(one arch sharded, with model.safetensors.index.json), and expected.json: the logits at every prompt position and
the residual stream after every layer, computed by the plain PyTorch forward below. The forward follows the
transformers modeling code (modeling_llama / modeling_mistral / modeling_qwen2 / modeling_qwen3): RMSNorm in fp32,
rotate-half RoPE with the llama3 frequency scaling, grouped-query attention with a causal (and sliding-window) mask,
SwiGLU MLP. bfloat16 folders hold weights rounded to bfloat16; their reference runs in float32 on those weights.

Run with Debian's python3-torch:  /usr/bin/python3 tools/hf_parity/make_fixtures.py core/src/test/resources/hf-parity
CI never runs this; it reads the files it wrote.
"""
import json
import math
import os
import struct
import sys

import torch

PROMPT = [1, 17, 42, 5, 88, 23, 61, 9, 33]

BASE = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=96, max_position_embeddings=64, rms_norm_eps=1e-5,
            rope_theta=10000.0, bos_token_id=1, eos_token_id=2, torch_dtype="float32")

ARCHS = {
    "llama": dict(BASE, architectures=["LlamaForCausalLM"], model_type="llama", tie_word_embeddings=False,
                  attention_bias=False, mlp_bias=False,
                  rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                    original_max_position_embeddings=16)),
    "mistral": dict(BASE, architectures=["MistralForCausalLM"], model_type="mistral", tie_word_embeddings=False,
                    sliding_window=4, rope_theta=1000000.0),
    "qwen2": dict(BASE, architectures=["Qwen2ForCausalLM"], model_type="qwen2", tie_word_embeddings=True,
                  use_sliding_window=False, sliding_window=None, rms_norm_eps=1e-6),
    "qwen3": dict(BASE, architectures=["Qwen3ForCausalLM"], model_type="qwen3", tie_word_embeddings=False,
                  head_dim=16, attention_bias=False, rms_norm_eps=1e-6),
}
SHARDED = {"qwen2"}


def make_weights(cfg, gen):
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    h, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or d // h

    def rnd(*shape, scale=0.15):
        return torch.randn(*shape, generator=gen, dtype=torch.float64).float() * scale

    w = {"model.embed_tokens.weight": rnd(v, d, scale=0.5)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + rnd(d, scale=0.1)
        w[p + "self_attn.q_proj.weight"] = rnd(h * hd, d)
        w[p + "self_attn.k_proj.weight"] = rnd(kv * hd, d)
        w[p + "self_attn.v_proj.weight"] = rnd(kv * hd, d)
        w[p + "self_attn.o_proj.weight"] = rnd(d, h * hd)
        if cfg["model_type"] == "qwen2":
            w[p + "self_attn.q_proj.bias"] = rnd(h * hd, scale=0.3)
            w[p + "self_attn.k_proj.bias"] = rnd(kv * hd, scale=0.3)
            w[p + "self_attn.v_proj.bias"] = rnd(kv * hd, scale=0.3)
        if cfg["model_type"] == "qwen3":
            w[p + "self_attn.q_norm.weight"] = 1 + rnd(hd, scale=0.1)
            w[p + "self_attn.k_norm.weight"] = 1 + rnd(hd, scale=0.1)
        w[p + "post_attention_layernorm.weight"] = 1 + rnd(d, scale=0.1)
        w[p + "mlp.gate_proj.weight"] = rnd(f, d)
        w[p + "mlp.up_proj.weight"] = rnd(f, d)
        w[p + "mlp.down_proj.weight"] = rnd(d, f)
    w["model.norm.weight"] = 1 + rnd(d, scale=0.1)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = rnd(v, d, scale=0.5)
    return w


def rms_norm(x, weight, eps):
    # LlamaRMSNorm: statistics in fp32, the result cast back to the input dtype, then times the weight
    x32 = x.to(torch.float32)
    variance = x32.pow(2).mean(-1, keepdim=True)
    return weight * (x32 * torch.rsqrt(variance + eps)).to(x.dtype)


def inv_frequencies(cfg, head_dim):
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        # transformers' _compute_llama3_parameters
        factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def forward(cfg, w, ids, dtype=torch.float32):
    """Logits and per-layer residual streams; dtype is the activation (and weight) dtype, as torch_dtype is."""
    w = {n: t.to(dtype) for n, t in w.items()}
    d, h, kv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or d // h
    eps = cfg["rms_norm_eps"]
    t = len(ids)
    inv = inv_frequencies(cfg, hd)
    freqs = torch.outer(torch.arange(t, dtype=torch.float32), inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)
    mask = torch.full((t, t), float("-inf")).triu(1)
    window = cfg.get("sliding_window") if cfg["model_type"] == "mistral" else None
    if window:
        i = torch.arange(t).unsqueeze(1)
        j = torch.arange(t).unsqueeze(0)
        mask = mask.masked_fill(i - j >= window, float("-inf"))

    x = w["model.embed_tokens.weight"][ids]
    layers = []
    for li in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{li}."
        y = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = y @ w[p + "self_attn.q_proj.weight"].T
        k = y @ w[p + "self_attn.k_proj.weight"].T
        v = y @ w[p + "self_attn.v_proj.weight"].T
        if p + "self_attn.q_proj.bias" in w:
            q, k, v = q + w[p + "self_attn.q_proj.bias"], k + w[p + "self_attn.k_proj.bias"], v + w[p + "self_attn.v_proj.bias"]
        q = q.view(t, h, hd).transpose(0, 1)
        k = k.view(t, kv, hd).transpose(0, 1)
        v = v.view(t, kv, hd).transpose(0, 1)
        if p + "self_attn.q_norm.weight" in w:
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(h // kv, dim=0)
        v = v.repeat_interleave(h // kv, dim=0)
        scores = q @ k.transpose(1, 2) / math.sqrt(hd)
        attn = torch.softmax(scores.float() + mask, dim=-1).to(dtype) @ v
        x = x + attn.transpose(0, 1).reshape(t, h * hd) @ w[p + "self_attn.o_proj.weight"].T
        y = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = torch.nn.functional.silu(y @ w[p + "mlp.gate_proj.weight"].T)
        x = x + (gate * (y @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
        layers.append(x.clone())
    y = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return (y @ head.T).float(), [layer.float() for layer in layers]


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        if dtype == "BF16":
            raw = t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
        else:
            raw = t.to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main(out_root):
    for arch, cfg in ARCHS.items():
        for dtype in ("F32", "BF16"):
            gen = torch.Generator().manual_seed(20261128 + len(arch))
            w = make_weights(cfg, gen)
            if dtype == "BF16":
                w = {n: t.to(torch.bfloat16).float() for n, t in w.items()}
            logits, layers = forward(cfg, w, PROMPT)
            bf16_logits = forward(cfg, w, PROMPT, torch.bfloat16)[0] if dtype == "BF16" else None
            folder = os.path.join(out_root, f"{arch}-{dtype.lower()}")
            os.makedirs(folder, exist_ok=True)
            config = dict(cfg, torch_dtype="bfloat16" if dtype == "BF16" else "float32")
            with open(os.path.join(folder, "config.json"), "w") as f:
                json.dump(config, f, indent=2)
            with open(os.path.join(folder, "generation_config.json"), "w") as f:
                json.dump({"bos_token_id": 1, "eos_token_id": [2, 3], "temperature": 0.7, "top_p": 0.8,
                           "top_k": 20, "do_sample": True}, f, indent=2)
            if arch in SHARDED:
                names = sorted(w)
                half = len(names) // 2
                shards = {"model-00001-of-00002.safetensors": names[:half],
                          "model-00002-of-00002.safetensors": names[half:]}
                weight_map = {}
                for shard, members in shards.items():
                    write_safetensors(os.path.join(folder, shard), {n: w[n] for n in members}, dtype)
                    weight_map.update({n: shard for n in members})
                with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
                    json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=2)
            else:
                write_safetensors(os.path.join(folder, "model.safetensors"), w, dtype)
            expected = {
                "generator": "tools/hf_parity/make_fixtures.py (plain PyTorch %s, float32 arithmetic)" % torch.__version__,
                "prompt": PROMPT,
                "logits": [[round(float(v), 7) for v in row] for row in logits],
                "layers": [[[round(float(v), 7) for v in row] for row in layer] for layer in layers],
            }
            if bf16_logits is not None:
                # what transformers computes with torch_dtype=bfloat16: activations rounded to bfloat16 too
                expected["logits_bf16_arithmetic"] = [[round(float(v), 5) for v in row] for row in bf16_logits]
            with open(os.path.join(folder, "expected.json"), "w") as f:
                json.dump(expected, f)
            print(folder, "written")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "core/src/test/resources/hf-parity")
