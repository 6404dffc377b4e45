#!/usr/bin/env python3
"""Writes the PyTorch autograd golden for KVSlim's trainer: one tiny Llama-style model, a batch, a given additive
attention bias, the mean next-token cross-entropy and the gradient of every parameter and of the bias.

The model is written here from the transformers modeling code (modeling_llama: RMSNorm, rotate-half RoPE, grouped
query attention with a causal mask, SwiGLU MLP), with one addition KVSlim's trainer supports for DMS training: a
bias added to the attention scores per (batch, KV head, query, key), shared by the query heads of a group. The
forward and backward run in float64 on float32-representable weights, so the golden has no float32 rounding.

Run with Debian's python3-torch:  /usr/bin/python3 tools/train_parity/make_fixtures.py train/src/test/resources/train-parity
CI never runs this; it reads the files it wrote (config.json, case.json, weights.safetensors, grads.safetensors).
"""
import json
import math
import os
import struct
import sys

import torch

CFG = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
           vocab_size=32, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0,
           tie_word_embeddings=False, architectures=["LlamaForCausalLM"], model_type="llama", torch_dtype="float32")
B, T = 2, 8


def make_weights(gen):
    d, f, v = CFG["hidden_size"], CFG["intermediate_size"], CFG["vocab_size"]
    h, kv = CFG["num_attention_heads"], CFG["num_key_value_heads"]
    hd = d // h

    def rnd(*shape, scale=0.3):
        # float32 values, so the Java side reads exactly these weights
        return (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale).float().double()

    w = {"model.embed_tokens.weight": rnd(v, d, scale=1.0)}
    for i in range(CFG["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + rnd(d, scale=0.1)
        w[p + "self_attn.q_proj.weight"] = rnd(h * hd, d)
        w[p + "self_attn.k_proj.weight"] = rnd(kv * hd, d)
        w[p + "self_attn.v_proj.weight"] = rnd(kv * hd, d)
        w[p + "self_attn.o_proj.weight"] = rnd(d, h * hd)
        w[p + "post_attention_layernorm.weight"] = 1 + rnd(d, scale=0.1)
        w[p + "mlp.gate_proj.weight"] = rnd(f, d)
        w[p + "mlp.up_proj.weight"] = rnd(f, d)
        w[p + "mlp.down_proj.weight"] = rnd(d, f)
    w["model.norm.weight"] = 1 + rnd(d, scale=0.1)
    w["lm_head.weight"] = rnd(v, d, scale=0.5)
    return w


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def loss_fn(w, bias, ids, targets):
    d, h, kv = CFG["hidden_size"], CFG["num_attention_heads"], CFG["num_key_value_heads"]
    hd = d // h
    eps = CFG["rms_norm_eps"]
    # angles as the Java engine computes them: float32 inverse frequencies, angle in double, cos/sin rounded to float32
    inv = (1.0 / (CFG["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))).float().double()
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().float().double(), emb.sin().float().double()
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    x = w["model.embed_tokens.weight"][ids]  # [B, T, d]
    for li in range(CFG["num_hidden_layers"]):
        p = f"model.layers.{li}."
        y = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (y @ w[p + "self_attn.q_proj.weight"].T).view(B, T, h, hd).transpose(1, 2)
        k = (y @ w[p + "self_attn.k_proj.weight"].T).view(B, T, kv, hd).transpose(1, 2)
        v = (y @ w[p + "self_attn.v_proj.weight"].T).view(B, T, kv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(h // kv, dim=1)
        v = v.repeat_interleave(h // kv, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
        scores = scores + bias[li].repeat_interleave(h // kv, dim=1) + mask
        attn = torch.softmax(scores, dim=-1) @ v
        x = x + attn.transpose(1, 2).reshape(B, T, h * hd) @ w[p + "self_attn.o_proj.weight"].T
        y = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = torch.nn.functional.silu(y @ w[p + "mlp.gate_proj.weight"].T)
        x = x + (gate * (y @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    y = rms_norm(x, w["model.norm.weight"], eps)
    logits = y @ w["lm_head.weight"].T
    return torch.nn.functional.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1))


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        raw = tensors[name].detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main(out):
    gen = torch.Generator().manual_seed(20261201)
    w = make_weights(gen)
    kv = CFG["num_key_value_heads"]
    bias = [(torch.randn(B, kv, T, T, generator=gen, dtype=torch.float64)).float().double()
            for _ in range(CFG["num_hidden_layers"])]
    ids = torch.randint(0, CFG["vocab_size"], (B, T), generator=gen)
    targets = torch.randint(0, CFG["vocab_size"], (B, T), generator=gen)
    for t in list(w.values()) + bias:
        t.requires_grad_(True)
    loss = loss_fn(w, bias, ids, targets)
    loss.backward()
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CFG, f, indent=2)
    tensors = dict(w)
    grads = {n: t.grad for n, t in w.items()}
    for li, b in enumerate(bias):
        tensors[f"attn_bias.{li}"] = b
        grads[f"attn_bias.{li}"] = b.grad
    write_safetensors(os.path.join(out, "weights.safetensors"), tensors)
    write_safetensors(os.path.join(out, "grads.safetensors"), grads)
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump({"batch": B, "seq": T, "tokens": ids.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
                   "loss": loss.item(), "torch_version": torch.__version__}, f, indent=2)
    print(f"wrote {out}: loss {loss.item():.6f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "train/src/test/resources/train-parity")
