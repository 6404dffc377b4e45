#!/usr/bin/env python3
"""Writes tiny random-weight DMS checkpoints in the published layouts, and their reference outputs, for KVSlim's tests.

Layouts (one folder each under the output root):
  nvidia-qwen3-channel       NVIDIA Model-Optimizer experimental/dms, Qwen3, dms_separate_alpha false (the decision is
                             the last channel of the first query head of each KV group), dms_alpha_per "head".
  nvidia-qwen3-adapter       the same with dms_separate_alpha true (dms_proj_alpha_norm + dms_proj_alpha per layer).
  nvidia-qwen3-adapter-layer the adapter with dms_alpha_per "layer" (every KV head takes head 0's decision).
  fastdms-llama              shisa-ai/FastDMS: a plain LlamaForCausalLM folder (Llama 3.1 RoPE scaling), the decision
                             from the borrowed query channel, settings in dms_metadata.json (and config.json).
The NVIDIA folders are what models/qwen3/extract.py saves: bfloat16 weights, config.json without "architectures" but
with "auto_map" naming Qwen3ForCausalLMDMS, model_type "qwen3" (Qwen3ConfigDMS subclasses Qwen3Config) and the dms_*
keys.

expected.json holds a prompt, the greedy continuation, the logits at every position of prompt + continuation and
the tokens each (layer, KV head) still keeps at the end, all computed by the plain PyTorch forward below with the
checkpoint's visibility rule applied to the whole sequence at once. NVIDIA's (shared/reference/dms-spec.md section
2.1): the decision d_t = [scale * a_t - offset > 0] made at token t marks token t-1; key k is visible to query q iff
k <= q and (q - k <= w or token k is unmarked), w = dms_window_size (the cache window of the reference is w + 1).
FastDMS's, as read from its code (fastdms/engine/dms.py, training/dms_mask.py): d_t marks token t itself, queries
inside the prompt see every earlier prompt token (dense prefill), later queries obey the same visibility rule, and
the borrowed channel is zeroed before RoPE only.
Greedy decoding recomputes the whole sequence each step, so nothing here is incremental or paged: it is the rule
itself. Decisions are checked to lie at least MARGIN from the threshold, so float32 summation order cannot flip one.

The model code (RMSNorm, rotate-half RoPE, q/k norms, SwiGLU) is tools/hf_parity/make_fixtures.py's.
Run with Debian's python3-torch:  /usr/bin/python3 tools/dms_parity/make_fixtures.py core/src/test/resources/dms-parity
CI never runs this; it reads the files it wrote.
"""
import json
import math
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hf_parity"))
import make_fixtures as hf  # noqa: E402

# the bundled demo model's byte-level tokenizer (256 bytes, then <|bos|> 256, <|eos|> 257, <|pad|> 258) goes with
# each folder, so that the engine serves it as it would a downloaded checkpoint
TOKENIZER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "kvslim-demo")
PROMPT = [256] + list(b"Once upon a time, there was a")
GENERATE = 12
MARGIN = 0.05

QWEN3 = dict(hf.ARCHS["qwen3"], vocab_size=259, bos_token_id=256, eos_token_id=257)
QWEN3.pop("architectures")
AUTO_MAP = {
    "AutoConfig": "configuration_qwen3_dms.Qwen3ConfigDMS",
    "AutoModel": "modeling_qwen3_dms.Qwen3ModelDMS",
    "AutoModelForCausalLM": "modeling_qwen3_dms.Qwen3ForCausalLMDMS",
}
DMS = dict(dms_alpha_scale=100.0, dms_initial_alpha_offset=5.0, dms_window_size=4, dms_paged_attention_block_size=2,
           dms_cr=8, dms_disable_eviction=False, dms_tau=0.1, dms_compile_limit=72, dms_manual_inference_mode=False,
           dms_chunked_prefill=None, dms_preallocate_for_tokens=4096)

LLAMA = dict(hf.ARCHS["llama"], vocab_size=259, bos_token_id=256, eos_token_id=257)
# shisa-ai/FastDMS: a plain Llama folder; its loader reads the settings from dms_metadata.json (its "config" object)
# before config.json, which the published checkpoint also carries
FASTDMS_CONFIG = dict(LLAMA, dms_window_size=4, dms_alpha_scale=100.0, dms_initial_alpha_offset=5.0, dms_cr=8)
FASTDMS_METADATA = {"config": {"window_size": 4, "alpha_scale": 100.0, "alpha_offset": 5.0, "target_cr": 8,
                               "compression_mode": "dms"}}

LAYOUTS = {
    "nvidia-qwen3-channel": dict(QWEN3, auto_map=AUTO_MAP, **DMS, dms_separate_alpha=False, dms_alpha_per="head"),
    "nvidia-qwen3-adapter": dict(QWEN3, auto_map=AUTO_MAP, **DMS, dms_separate_alpha=True, dms_alpha_per="head"),
    "nvidia-qwen3-adapter-layer": dict(QWEN3, auto_map=AUTO_MAP, **DMS, dms_separate_alpha=True,
                                       dms_alpha_per="layer"),
    "fastdms-llama": FASTDMS_CONFIG,
}


def add_adapters(cfg, w, gen):
    """The adapter's tensors, random (a trained adapter is; a zero one would never evict)."""
    d, kv = cfg["hidden_size"], cfg["num_key_value_heads"]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}.self_attn."
        w[p + "dms_proj_alpha_norm.weight"] = 1 + torch.randn(d, generator=gen, dtype=torch.float64).float() * 0.1
        w[p + "dms_proj_alpha.weight"] = torch.randn(kv, d, generator=gen, dtype=torch.float64).float() * 0.02


def fastdms(cfg):
    return "dms_separate_alpha" not in cfg


def dms_forward(cfg, w, ids, prompt_length):
    """Logits at every position under the DMS visibility rule, the decision logits, and the tokens kept at the end.

    NVIDIA's rule (dms_separate_alpha present): the decision at token t marks token t - 1, every query obeys the rule,
    the borrowed channel is zeroed before and after RoPE. FastDMS's rule (fastdms/engine/dms.py and its kernels):
    the decision at token t marks token t itself, queries of the prompt see every earlier prompt token (dense
    prefill), later queries obey the rule, and the borrowed channel is zeroed before RoPE only.
    """
    d, h, kv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, g, eps = cfg.get("head_dim") or d // h, h // kv, cfg["rms_norm_eps"]
    fast = fastdms(cfg)
    scale, offset, win = cfg["dms_alpha_scale"], cfg["dms_initial_alpha_offset"], cfg["dms_window_size"]
    if fast:
        meta = FASTDMS_METADATA["config"]
        scale, offset, win = meta["alpha_scale"], meta["alpha_offset"], meta["window_size"]
    t = len(ids)
    inv = hf.inv_frequencies(cfg, hd)
    freqs = torch.outer(torch.arange(t, dtype=torch.float32), inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    qi = torch.arange(t).unsqueeze(1)
    ki = torch.arange(t).unsqueeze(0)
    x = w["model.embed_tokens.weight"][ids]
    all_z, kept = [], []
    for li in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{li}."
        y = hf.rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (y @ w[p + "self_attn.q_proj.weight"].T).view(t, h, hd).transpose(0, 1).clone()
        k = (y @ w[p + "self_attn.k_proj.weight"].T).view(t, kv, hd).transpose(0, 1)
        v = (y @ w[p + "self_attn.v_proj.weight"].T).view(t, kv, hd).transpose(0, 1)
        if p + "self_attn.q_norm.weight" in w:
            q = hf.rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = hf.rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        firsts = [j * g for j in range(kv)]
        if cfg.get("dms_separate_alpha", False):
            # the residual before input_layernorm, through the adapter's own RMSNorm and Linear(hidden -> KV heads)
            a = hf.rms_norm(x, w[p + "self_attn.dms_proj_alpha_norm.weight"], eps) @ w[p + "self_attn.dms_proj_alpha.weight"].T
        else:
            # the last channel of the first query head of each group, after q_norm and before RoPE, then zeroed
            a = torch.stack([q[i, :, hd - 1].clone() for i in firsts], dim=1)
            for i in firsts:
                q[i, :, hd - 1] = 0
        z = scale * a - offset  # [t, kv]
        if cfg.get("dms_alpha_per") == "layer":
            z = z[:, :1].expand(t, kv)
        q = q * cos + hf.rotate_half(q) * sin
        k = k * cos + hf.rotate_half(k) * sin
        if not fast and not cfg["dms_separate_alpha"]:
            for i in firsts:
                q[i, :, hd - 1] = 0
        if fast:
            marked = z > 0  # FastDMS: a token's own decision marks it
        else:
            marked = torch.zeros(t, kv, dtype=torch.bool)
            marked[:-1] = z[1:] > 0  # the decision at token t marks token t - 1; the last token waits for the next
        dense = (qi < prompt_length) if fast else torch.zeros(t, 1, dtype=torch.bool)
        all_z.append(z.clone())
        out = torch.empty(h, t, hd)
        layer_kept = []
        for j in range(kv):
            visible = (ki <= qi) & ((qi - ki <= win) | ~marked[:, j].unsqueeze(0) | dense)
            layer_kept.append(int(visible[t - 1].sum()))
            mask = torch.zeros(t, t).masked_fill(~visible, float("-inf"))
            for i in range(j * g, (j + 1) * g):
                scores = q[i] @ k[j].T / math.sqrt(hd)
                out[i] = torch.softmax(scores + mask, dim=-1) @ v[j]
        kept.append(layer_kept)
        x = x + out.transpose(0, 1).reshape(t, h * hd) @ w[p + "self_attn.o_proj.weight"].T
        y = hf.rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = torch.nn.functional.silu(y @ w[p + "mlp.gate_proj.weight"].T)
        x = x + (gate * (y @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    y = hf.rms_norm(x, w["model.norm.weight"], eps)
    return y @ w["lm_head.weight"].T, torch.stack(all_z), kept


def main(out_root):
    for name, cfg in LAYOUTS.items():
        for attempt in range(100):
            gen = torch.Generator().manual_seed(20261206 + 1000 * attempt + len(name))
            w = hf.make_weights(cfg, gen)
            if cfg.get("dms_separate_alpha", False):
                add_adapters(cfg, w, gen)
            w = {n: t.to(torch.bfloat16).float() for n, t in w.items()}  # extract.py saves bfloat16
            ids = list(PROMPT)
            for _ in range(GENERATE):
                logits, _, _ = dms_forward(cfg, w, ids, len(PROMPT))
                ids.append(int(logits[-1].argmax()))
            logits, z, kept = dms_forward(cfg, w, ids, len(PROMPT))
            top2 = logits.topk(2, dim=-1).values
            if z.abs().min() >= MARGIN and (top2[:, 0] - top2[:, 1]).min() >= 1e-3:
                break
        else:
            raise SystemExit(name + ": no seed keeps every decision and greedy choice away from ties")
        evicted = sum(len(ids) - k for layer in kept for k in layer)
        folder = os.path.join(out_root, name)
        os.makedirs(folder, exist_ok=True)
        config = dict(cfg, torch_dtype="bfloat16")
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        if fastdms(cfg):
            with open(os.path.join(folder, "dms_metadata.json"), "w") as f:
                json.dump(FASTDMS_METADATA, f, indent=2)
        hf.write_safetensors(os.path.join(folder, "model.safetensors"), w, "BF16")
        for tokenizer_file in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(TOKENIZER, tokenizer_file), os.path.join(folder, tokenizer_file))
        expected = {
            "generator": "tools/dms_parity/make_fixtures.py (plain PyTorch %s, float32 arithmetic on bfloat16 "
                         "weights, the visibility rule over the whole sequence)" % torch.__version__,
            "seed_attempt": attempt,
            "prompt": PROMPT,
            "generated": ids[len(PROMPT):],
            "logits": [[round(float(v), 6) for v in row] for row in logits],
            "kept": kept,
            "evicted_entries": evicted,
            "marked_fraction": float((z[:, :-1] > 0).float().mean()),
            "min_decision_margin": float(z.abs().min()),
        }
        with open(os.path.join(folder, "expected.json"), "w") as f:
            json.dump(expected, f)
        print(folder, "written: attempt", attempt, "kept", kept, "of", len(ids), "marked",
              round(expected["marked_fraction"], 3))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "core/src/test/resources/dms-parity")
