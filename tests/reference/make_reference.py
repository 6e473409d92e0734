#!/usr/bin/env python3
"""make_reference.py - independent reference logits for the llama plugin (issue 5).

Builds transformers' LlamaForCausalLM and Qwen2ForCausalLM with seeded random weights in
several small shapes (MHA and GQA, odd hidden sizes, head_dim 8 and 16, tied and untied
output), writes each as a GGUF v3 file with this script's own small writer (the project's
conventions: general.architecture, <arch>.* keys, llama.cpp tensor names, llama q/k rows
permuted for the "normal" RoPE layout as llama.cpp's convert_hf_to_gguf.py does), in F32,
F16 and BF16, and runs a fixed token sequence through HF in float64 on the *same rounded
weights*. For each fixture NAME it writes into OUTDIR:

  NAME.gguf          the model
  NAME.logits.f32    prefill logits [n_tokens][vocab], raw little-endian float32
  NAME.json          sidecar: shape, tokens, greedy continuation, tolerance, config

Run (on the device, with torch + transformers + numpy):
  python3 tests/reference/make_reference.py tests/reference/data
The C test tests/llama/llama_reference.c reads every NAME.json it finds there.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from transformers import (LlamaConfig, LlamaForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM)

GGUF_MAGIC = 0x46554747  # "GGUF" little-endian
GGUF_VERSION = 3
ALIGN = 32
# Metadata value types (GGUF spec)
T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY = 4, 5, 6, 7, 8, 9
# Tensor types (ggml)
DT_F32, DT_F16, DT_BF16 = 0, 1, 30
DTYPES = {"F32": DT_F32, "F16": DT_F16, "BF16": DT_BF16}
TOLERANCE = {"F32": 1e-4, "F16": 1e-2, "BF16": 1e-2}
# Smallest accepted top-1/top-2 logit gap of the greedy steps, in units of the logits' std.
GREEDY_MARGIN = {"F32": 1e-3, "F16": 4e-3, "BF16": 4e-3}

N_PROMPT = 24
N_GREEDY = 64

# Shapes: (name, arch, hidden, heads, kv_heads, ff, layers, vocab, tied, extra)
SHAPES = [
    ("llama_mha_d64", "llama", 64, 4, 4, 172, 2, 320, False,
     dict(rope_theta=10000.0, rms_norm_eps=1e-5, write_rope_dim=True)),
    ("llama_gqa_d72", "llama", 72, 9, 3, 96, 3, 384, True,
     dict(rope_theta=500000.0, rms_norm_eps=1e-6, write_rope_dim=False)),
    ("qwen2_gqa_d48", "qwen2", 48, 6, 2, 128, 2, 300, True,
     dict(rope_theta=1000000.0, rms_norm_eps=1e-6, write_rope_dim=True)),
    ("qwen2_mha_d32", "qwen2", 32, 2, 2, 172, 4, 600, False,
     dict(rope_theta=10000.0, rms_norm_eps=1e-5, write_rope_dim=False)),
]


# ---------------------------------------------------------------------------------------
# A small GGUF v3 writer

def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


class GGUFWriter:
    def __init__(self):
        self.kv = []       # (key, bytes of type + value)
        self.tensors = []  # (name, dtype, ne list, raw bytes)

    def u32(self, key, v):
        self.kv.append((key, struct.pack("<II", T_UINT32, v)))

    def f32(self, key, v):
        self.kv.append((key, struct.pack("<If", T_FLOAT32, v)))

    def string(self, key, v):
        self.kv.append((key, struct.pack("<I", T_STRING) + _str(v)))

    def boolean(self, key, v):
        self.kv.append((key, struct.pack("<IB", T_BOOL, 1 if v else 0)))

    def arr_str(self, key, values):
        body = struct.pack("<IIQ", T_ARRAY, T_STRING, len(values))
        body += b"".join(_str(v) for v in values)
        self.kv.append((key, body))

    def arr_f32(self, key, values):
        body = struct.pack("<IIQ", T_ARRAY, T_FLOAT32, len(values))
        body += np.asarray(values, dtype="<f4").tobytes()
        self.kv.append((key, body))

    def arr_i32(self, key, values):
        body = struct.pack("<IIQ", T_ARRAY, T_INT32, len(values))
        body += np.asarray(values, dtype="<i4").tobytes()
        self.kv.append((key, body))

    def tensor(self, name, dtype, t):
        """t: torch tensor in HF orientation [out, in] (or [n]); stored with ne[0] = last
        dimension (the contiguous one), as GGUF does."""
        t = t.detach().contiguous()
        if dtype == DT_F32:
            raw = t.to(torch.float32).numpy().astype("<f4").tobytes()
        elif dtype == DT_F16:
            raw = t.to(torch.float16).numpy().astype("<f2").tobytes()
        elif dtype == DT_BF16:
            raw = t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raise ValueError(dtype)
        ne = list(reversed(t.shape))
        self.tensors.append((name, dtype, ne, raw))

    def write(self, path):
        head = struct.pack("<IIQQ", GGUF_MAGIC, GGUF_VERSION, len(self.tensors), len(self.kv))
        head += b"".join(_str(k) + v for k, v in self.kv)
        offset = 0
        infos = b""
        for name, dtype, ne, raw in self.tensors:
            infos += _str(name) + struct.pack("<I", len(ne))
            infos += b"".join(struct.pack("<Q", n) for n in ne)
            infos += struct.pack("<IQ", dtype, offset)
            offset += len(raw)
            offset = (offset + ALIGN - 1) // ALIGN * ALIGN
        out = head + infos
        out += b"\0" * ((-len(out)) % ALIGN)
        for _, _, _, raw in self.tensors:
            out += raw + b"\0" * ((-len(raw)) % ALIGN)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(out)
        os.replace(tmp, path)


# ---------------------------------------------------------------------------------------
# Models

def permute(w, n_head, n_head_kv):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute: HF q/k rows (rotate_half
    layout, pairs (i, i+d/2)) -> interleaved rows (pairs (2i, 2i+1)) of GGUF llama."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def build_model(arch, hidden, heads, kv_heads, ff, layers, vocab, tied, extra, seed):
    common = dict(vocab_size=vocab, hidden_size=hidden, intermediate_size=ff,
                  num_hidden_layers=layers, num_attention_heads=heads,
                  num_key_value_heads=kv_heads, max_position_embeddings=256,
                  rms_norm_eps=extra["rms_norm_eps"], rope_theta=extra["rope_theta"],
                  # transformers >= 5 spells the base this way; older versions ignore it
                  rope_parameters={"rope_type": "default", "rope_theta": extra["rope_theta"]},
                  tie_word_embeddings=tied, bos_token_id=1, eos_token_id=2,
                  attn_implementation="eager")
    if arch == "llama":
        cfg = LlamaConfig(attention_bias=False, mlp_bias=False, **common)
        model = LlamaForCausalLM(cfg)
    else:
        cfg = Qwen2Config(use_sliding_window=False, **common)
        model = Qwen2ForCausalLM(cfg)
    # Random weights with unit-scale activations (never the HF init's all-ones norms or
    # zero biases), so every tensor and every op matters in the logits.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:  # q/k/v biases (qwen2)
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name or "lm_head" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / np.sqrt(p.shape[1]))
    model.eval()
    # The GGUF says rope.freq_base = rope_theta: make sure HF really uses that base (the
    # config spelling of rope parameters changed across transformers versions).
    hd = hidden // heads
    want = 1.0 / (extra["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    rot = [m for n, m in model.named_modules() if n.endswith("rotary_emb")]
    assert rot, "no rotary embedding module found"
    got = rot[0].inv_freq.to(torch.float64)
    assert torch.allclose(got, want, rtol=1e-5), "HF rope base differs: %s vs %s" % (got, want)
    return cfg, model


def round_weights(model, wtype):
    """Round every matrix to the storage type (norms and biases stay F32, as in the GGUF),
    so HF runs on exactly the weights our plugin reads."""
    tdt = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[wtype]
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.copy_(p.to(tdt if p.dim() == 2 else torch.float32).to(p.dtype))


def tokenizer_metadata(w, vocab):
    toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    toks += ["\u2581w%d" % i for i in range(vocab - len(toks))]
    types = [2, 3, 3] + [6] * 256 + [1] * (vocab - 259)
    w.string("tokenizer.ggml.model", "llama")
    w.arr_str("tokenizer.ggml.tokens", toks)
    w.arr_f32("tokenizer.ggml.scores", [-float(i) for i in range(vocab)])
    w.arr_i32("tokenizer.ggml.token_type", types)
    w.u32("tokenizer.ggml.bos_token_id", 1)
    w.u32("tokenizer.ggml.eos_token_id", 2)
    w.u32("tokenizer.ggml.unknown_token_id", 0)
    w.boolean("tokenizer.ggml.add_bos_token", True)


def rope_theta_of(cfg):
    """transformers 4 keeps rope_theta on the config; 5 moved it into rope_parameters."""
    try:
        theta = cfg.rope_theta
    except AttributeError:
        theta = None
    if theta is None:
        params = getattr(cfg, "rope_parameters", None) or {}
        theta = params.get("rope_theta")
    if theta is None:
        theta = cfg.to_dict().get("rope_theta")
    return float(theta)


def write_gguf(path, name, arch, cfg, model, wtype, write_rope_dim):
    dt = DTYPES[wtype]
    hd = cfg.hidden_size // cfg.num_attention_heads
    w = GGUFWriter()
    w.string("general.architecture", arch)
    w.string("general.name", name)
    w.u32("general.alignment", ALIGN)
    w.u32(arch + ".context_length", cfg.max_position_embeddings)
    w.u32(arch + ".embedding_length", cfg.hidden_size)
    w.u32(arch + ".block_count", cfg.num_hidden_layers)
    w.u32(arch + ".feed_forward_length", cfg.intermediate_size)
    w.u32(arch + ".attention.head_count", cfg.num_attention_heads)
    w.u32(arch + ".attention.head_count_kv", cfg.num_key_value_heads)
    w.f32(arch + ".rope.freq_base", rope_theta_of(cfg))
    w.f32(arch + ".attention.layer_norm_rms_epsilon", cfg.rms_norm_eps)
    if write_rope_dim:
        w.u32(arch + ".rope.dimension_count", hd)
    tokenizer_metadata(w, cfg.vocab_size)

    sd = {k: v.detach().to(torch.float32) for k, v in model.state_dict().items()}
    nh, nkv = cfg.num_attention_heads, cfg.num_key_value_heads
    w.tensor("token_embd.weight", dt, sd["model.embed_tokens.weight"])
    for i in range(cfg.num_hidden_layers):
        p = "model.layers.%d." % i
        q, k = sd[p + "self_attn.q_proj.weight"], sd[p + "self_attn.k_proj.weight"]
        if arch == "llama":  # normal RoPE layout: permute as llama.cpp's converter does
            q, k = permute(q, nh, nh), permute(k, nh, nkv)
        w.tensor("blk.%d.attn_norm.weight" % i, DT_F32, sd[p + "input_layernorm.weight"])
        w.tensor("blk.%d.attn_q.weight" % i, dt, q)
        w.tensor("blk.%d.attn_k.weight" % i, dt, k)
        w.tensor("blk.%d.attn_v.weight" % i, dt, sd[p + "self_attn.v_proj.weight"])
        if arch == "qwen2":  # NeoX layout: no permutation, biases as they are
            for x in "qkv":
                w.tensor("blk.%d.attn_%s.bias" % (i, x), DT_F32,
                         sd[p + "self_attn.%s_proj.bias" % x])
        w.tensor("blk.%d.attn_output.weight" % i, dt, sd[p + "self_attn.o_proj.weight"])
        w.tensor("blk.%d.ffn_norm.weight" % i, DT_F32,
                 sd[p + "post_attention_layernorm.weight"])
        w.tensor("blk.%d.ffn_gate.weight" % i, dt, sd[p + "mlp.gate_proj.weight"])
        w.tensor("blk.%d.ffn_up.weight" % i, dt, sd[p + "mlp.up_proj.weight"])
        w.tensor("blk.%d.ffn_down.weight" % i, dt, sd[p + "mlp.down_proj.weight"])
    w.tensor("output_norm.weight", DT_F32, sd["model.norm.weight"])
    if not cfg.tie_word_embeddings:
        w.tensor("output.weight", dt, sd["lm_head.weight"])
    w.write(path)


def greedy(model, tokens):
    """HF generate(do_sample=False) for N_GREEDY tokens (EOS disabled so the length is
    fixed), checked against a plain argmax loop, with the smallest top-1/top-2 gap seen."""
    ids = torch.tensor([tokens])
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                         max_new_tokens=N_GREEDY, eos_token_id=None, pad_token_id=0)
    gen = out[0, len(tokens):].tolist()
    assert len(gen) == N_GREEDY, len(gen)
    with torch.no_grad():
        logits = model(out[:, :-1]).logits[0, len(tokens) - 1:]
    top2 = torch.topk(logits, 2, dim=-1).values
    margin = float((top2[:, 0] - top2[:, 1]).min())
    assert logits.argmax(-1).tolist() == gen, "generate() disagrees with argmax"
    return gen, margin


def make_fixture(outdir, shape, wtype, index):
    name, arch, hidden, heads, kv, ff, layers, vocab, tied, extra = shape
    seed = 1234 + 17 * index
    # A near-tie between the top two logits makes greedy agreement a coin toss under our
    # fp32 (and, for F16/BF16 on the GPU, reduced-precision activation) rounding: re-draw
    # until every greedy step has a margin well above that error, keeping the best draw.
    need = GREEDY_MARGIN[wtype]
    best = None
    for attempt in range(24):
        cfg, model = build_model(arch, hidden, heads, kv, ff, layers, vocab, tied, extra,
                                 seed + 1000 * attempt)
        round_weights(model, wtype)
        model = model.to(torch.float64)
        g = torch.Generator().manual_seed(seed + attempt)
        tokens = [1] + torch.randint(3, vocab, (N_PROMPT - 1,), generator=g).tolist()
        with torch.no_grad():
            logits = model(torch.tensor([tokens])).logits[0]
        gen, margin = greedy(model, tokens)
        rel = margin / float(logits.std())
        if best is None or rel > best[0]:
            best = (rel, cfg, model, tokens, logits, gen, margin)
        if rel > need:
            break
        print("  %s %s: greedy margin %.3g std too small, re-drawing" % (name, wtype, rel))
    rel, cfg, model, tokens, logits, gen, margin = best
    if rel <= need:
        print("  WARNING %s %s: best greedy margin %.3g std" % (name, wtype, rel))
    fname = "%s_%s" % (name, wtype.lower())
    write_gguf(os.path.join(outdir, fname + ".gguf"), fname, arch, cfg, model, wtype,
               extra["write_rope_dim"])
    logits.to(torch.float32).numpy().astype("<f4").tofile(
        os.path.join(outdir, fname + ".logits.f32"))
    side = {
        "name": fname, "architecture": arch, "weight_type": wtype,
        "gguf": fname + ".gguf", "logits": fname + ".logits.f32",
        "shape": [len(tokens), vocab], "tokens": tokens, "greedy": gen,
        "greedy_min_margin": margin, "logits_std": float(logits.std()),
        "tolerance": TOLERANCE[wtype],
        "config": {"hidden": hidden, "heads": heads, "kv_heads": kv, "ff": ff,
                   "layers": layers, "vocab": vocab, "tied": tied,
                   "head_dim": hidden // heads, "rope_theta": extra["rope_theta"],
                   "rms_norm_eps": extra["rms_norm_eps"]},
        "generator": "tests/reference/make_reference.py (transformers float64)",
    }
    with open(os.path.join(outdir, fname + ".json"), "w") as f:
        json.dump(side, f, indent=1)
    print("%-24s tokens %d vocab %d greedy margin %.3g" % (fname, len(tokens), vocab, margin))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_reference.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    for i, shape in enumerate(SHAPES):
        for wtype in ("F32", "F16", "BF16"):
            make_fixture(outdir, shape, wtype, i)
    total = sum(os.path.getsize(os.path.join(outdir, f)) for f in os.listdir(outdir))
    print("total %.2f MB in %s" % (total / 1e6, outdir))
    if total > 5e6:
        sys.exit("fixtures exceed 5 MB: shrink SHAPES")


if __name__ == "__main__":
    main()
