#!/usr/bin/env python3
"""make_gpt_reference.py - reference fixtures for the gpt plugin (issue 7).

Runs on the device machine (needs torch, transformers, numpy). For each shape it builds a
transformers GPT2LMHeadModel with seeded random weights (every parameter random, biases and
LayerNorm included), writes it as GGUF with the small writer below (matrices in the shape's
type; the torch model is given exactly the values the file holds, F16 and Q8_0 rounded), and
records in float64:
  - the prefill logits of a seeded random prompt (all positions),
  - 64 greedy tokens and the logits of each decode step.
Fixture: <name>.gguf and <name>.ref (little-endian):
  char magic[8] = "GPTREF1\\0"; int32 n_vocab, n_prompt, n_gen, weight_type;
  int32 prompt[n_prompt]; float32 prefill[n_prompt][n_vocab];
  int32 greedy[n_gen]; float32 decode[n_gen][n_vocab]   (decode[i]: after feeding greedy[i])
tests/gpt/test_gpt_reference compares ours against them (host, and cuda:0 on a GPU).

  python3 tests/gpt/make_gpt_reference.py [--out tests/gpt/data] [--big]
--big adds the GPT-2 124M shape (F16, about 250 MB; do not commit it).
"""
import argparse
import os
import struct
import sys

import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel

GGUF_F32, GGUF_F16, GGUF_Q8_0 = 0, 1, 8
T_U32, T_I32, T_F32, T_STR, T_ARR = 4, 5, 6, 8, 9

SHAPES = [
    # name,        d, heads, layers, ff,  vocab, ctx, tied, type
    ("gpt2-tiny",  64, 4, 2, 256, 512, 128, True, GGUF_F32),
    ("gpt2-odd",   96, 3, 3, 200, 1000, 160, False, GGUF_F32),  # head 32, ff 200
    ("gpt2-f16",   64, 8, 2, 256, 600, 128, True, GGUF_F16),    # head 8
    ("gpt2-q8_0",  64, 4, 2, 256, 700, 128, False, GGUF_Q8_0),
]
BIG = ("gpt2-124M", 768, 12, 12, 3072, 50257, 1024, True, GGUF_F16)
N_PROMPT, N_GEN = 16, 64


# --- a minimal GGUF v3 writer ---------------------------------------------------------

def _str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def _kv(key, t, v):
    out = _str(key) + struct.pack("<I", t)
    if t == T_U32:
        out += struct.pack("<I", v)
    elif t == T_F32:
        out += struct.pack("<f", v)
    elif t == T_STR:
        out += _str(v)
    elif t == T_ARR:
        et, items = v
        out += struct.pack("<IQ", et, len(items))
        if et == T_STR:
            out += b"".join(_str(s) for s in items)
        elif et == T_I32:
            out += struct.pack("<%di" % len(items), *items)
        elif et == T_F32:
            out += struct.pack("<%df" % len(items), *items)
    return out


def q8_0(x):
    """ggml's reference Q8_0 quantizer on rows of x (float32, ne0 % 32 == 0): bytes and the
    dequantized values the file stands for."""
    x = x.astype(np.float32).reshape(-1, 32)
    amax = np.abs(x).max(axis=1)
    d = (amax / 127.0).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, (1.0 / d).astype(np.float32), 0).astype(np.float32)
    v = (x * idv[:, None]).astype(np.float32)
    q = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int8)   # roundf
    d16 = d.astype(np.float16)
    blocks = np.zeros(x.shape[0], dtype=[("d", "<f2"), ("qs", "i1", 32)])
    blocks["d"] = d16
    blocks["qs"] = q
    deq = d16.astype(np.float32)[:, None] * q.astype(np.float32)
    return blocks.tobytes(), deq


def stored(arr, gtype):
    """(bytes, values as stored) of a float array in gtype."""
    a = np.ascontiguousarray(arr, dtype=np.float32)
    if gtype == GGUF_F32 or a.ndim == 1:
        return a.tobytes(), a
    if gtype == GGUF_F16:
        h = a.astype(np.float16)
        return h.tobytes(), h.astype(np.float32)
    data, deq = q8_0(a)
    return data, deq.reshape(a.shape)


def write_gguf(path, kvs, tensors):
    """tensors: list of (name, numpy shape (rows, cols) or (n,), gguf type, bytes)."""
    align = 32
    infos, blobs, off = b"", [], 0
    for name, shape, gtype, data in tensors:
        ne = list(reversed(shape))
        infos += _str(name) + struct.pack("<I", len(ne)) + struct.pack("<%dQ" % len(ne), *ne)
        infos += struct.pack("<IQ", gtype, off)
        pad = (-len(data)) % align
        blobs.append(data + b"\0" * pad)
        off += len(data) + pad
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    head += b"".join(_kv(k, t, v) for k, t, v in kvs) + infos
    head += b"\0" * ((-len(head)) % align)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def byte_token(b):
    keep = lambda i: 33 <= i <= 126 or 161 <= i <= 172 or 174 <= i <= 255
    if keep(b):
        return chr(b)
    return chr(256 + sum(1 for i in range(b) if not keep(i)))


def vocab(n):
    toks = [byte_token(b) for b in range(256)]
    merges = []
    for i in range(n - 257):
        a, b = "abcdefghijklmnopqrstuvwxyz"[i // 26 % 26], "abcdefghijklmnopqrstuvwxyz"[i % 26]
        toks.append(a + b + ("" if i < 676 else str(i)))
        merges.append(a + " " + b)
    merges = merges[:676]
    toks.append("<|endoftext|>")
    types = [1] * (n - 1) + [3]
    return toks, types, merges


# --- the model ------------------------------------------------------------------------

def build(shape, seed):
    name, d, heads, layers, ff, V, ctx, tied, gtype = shape
    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=V, n_positions=ctx, n_embd=d, n_layer=layers, n_head=heads,
                     n_inner=ff, activation_function="gelu_new", layer_norm_epsilon=1e-5,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     tie_word_embeddings=tied)
    model = GPT2LMHeadModel(cfg).double().eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float64)
            if ".ln_" in pname or pname.startswith("transformer.ln_f"):
                p.copy_(1.0 + 0.2 * r if pname.endswith("weight") else 0.2 * r)
            elif pname.endswith("bias"):
                p.copy_(0.2 * r)
            elif "wte" in pname:
                p.copy_(r)
            elif "wpe" in pname:
                p.copy_(0.5 * r)
            elif pname == "lm_head.weight":
                p.copy_(r / d ** 0.5)
            else:   # Conv1D [in, out]
                p.copy_(1.7 * r / p.shape[0] ** 0.5)
    return model


def export(model, shape, path):
    """Write the GGUF and put the stored (rounded) values back into the model."""
    name, d, heads, layers, ff, V, ctx, tied, gtype = shape
    sd = model.state_dict()
    tensors = []

    def put(gname, key, transpose=False, mat=True):
        t = sd[key].detach().cpu().numpy()
        a = t.T if transpose else t
        data, vals = stored(a, gtype if mat else GGUF_F32)
        tensors.append((gname, a.shape, gtype if (mat and a.ndim == 2) else GGUF_F32, data))
        back = vals.T if transpose else vals
        with torch.no_grad():
            sd[key].copy_(torch.from_numpy(np.ascontiguousarray(back)).double())

    put("token_embd.weight", "transformer.wte.weight")
    put("position_embd.weight", "transformer.wpe.weight")
    for i in range(layers):
        p = "transformer.h.%d." % i
        put("blk.%d.attn_norm.weight" % i, p + "ln_1.weight", mat=False)
        put("blk.%d.attn_norm.bias" % i, p + "ln_1.bias", mat=False)
        put("blk.%d.attn_qkv.weight" % i, p + "attn.c_attn.weight", transpose=True)
        put("blk.%d.attn_qkv.bias" % i, p + "attn.c_attn.bias", mat=False)
        put("blk.%d.attn_output.weight" % i, p + "attn.c_proj.weight", transpose=True)
        put("blk.%d.attn_output.bias" % i, p + "attn.c_proj.bias", mat=False)
        put("blk.%d.ffn_norm.weight" % i, p + "ln_2.weight", mat=False)
        put("blk.%d.ffn_norm.bias" % i, p + "ln_2.bias", mat=False)
        put("blk.%d.ffn_up.weight" % i, p + "mlp.c_fc.weight", transpose=True)
        put("blk.%d.ffn_up.bias" % i, p + "mlp.c_fc.bias", mat=False)
        put("blk.%d.ffn_down.weight" % i, p + "mlp.c_proj.weight", transpose=True)
        put("blk.%d.ffn_down.bias" % i, p + "mlp.c_proj.bias", mat=False)
    put("output_norm.weight", "transformer.ln_f.weight", mat=False)
    put("output_norm.bias", "transformer.ln_f.bias", mat=False)
    if not tied:
        put("output.weight", "lm_head.weight")
    model.load_state_dict(sd)
    toks, types, merges = vocab(V)
    kvs = [("general.architecture", T_STR, "gpt2"), ("general.name", T_STR, name),
           ("gpt2.context_length", T_U32, ctx), ("gpt2.embedding_length", T_U32, d),
           ("gpt2.block_count", T_U32, layers), ("gpt2.feed_forward_length", T_U32, ff),
           ("gpt2.attention.head_count", T_U32, heads),
           ("gpt2.attention.layer_norm_epsilon", T_F32, 1e-5),
           ("tokenizer.ggml.model", T_STR, "gpt2"),
           ("tokenizer.ggml.tokens", T_ARR, (T_STR, toks)),
           ("tokenizer.ggml.token_type", T_ARR, (T_I32, types)),
           ("tokenizer.ggml.merges", T_ARR, (T_STR, merges)),
           ("tokenizer.ggml.bos_token_id", T_U32, V - 1),
           ("tokenizer.ggml.eos_token_id", T_U32, V - 1)]
    write_gguf(path, kvs, tensors)


def reference(model, shape, seed, path):
    name, d, heads, layers, ff, V, ctx, tied, gtype = shape
    if tied:   # the tied head follows the (rounded) embedding
        model.tie_weights()
    g = torch.Generator().manual_seed(seed + 1)
    prompt = torch.randint(0, V, (1, N_PROMPT), generator=g)
    with torch.no_grad():
        out = model(prompt, use_cache=True)
        prefill = out.logits[0].float().numpy()
        past, last = out.past_key_values, out.logits[0, -1]
        greedy, decode = [], []
        for _ in range(N_GEN):
            t = int(torch.argmax(last))
            greedy.append(t)
            o = model(torch.tensor([[t]]), past_key_values=past, use_cache=True)
            past, last = o.past_key_values, o.logits[0, -1]
            decode.append(last.float().numpy())
    with open(path, "wb") as f:
        f.write(b"GPTREF1\0" + struct.pack("<4i", V, N_PROMPT, N_GEN, gtype))
        f.write(np.asarray(prompt[0], dtype=np.int32).tobytes())
        f.write(np.ascontiguousarray(prefill, dtype=np.float32).tobytes())
        f.write(np.asarray(greedy, dtype=np.int32).tobytes())
        f.write(np.ascontiguousarray(np.stack(decode), dtype=np.float32).tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "data"))
    ap.add_argument("--big", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    shapes = SHAPES + ([BIG] if args.big else [])
    for i, shape in enumerate(shapes):
        seed = 1234 + i
        model = build(shape, seed)
        export(model, shape, os.path.join(args.out, shape[0] + ".gguf"))
        reference(model, shape, seed, os.path.join(args.out, shape[0] + ".ref"))
        print("wrote", shape[0], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
