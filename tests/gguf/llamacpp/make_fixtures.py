#!/usr/bin/env python3
"""Write the GGUF fixtures of tests/gguf/test_llamacpp.c with llama.cpp's own Python writer
(gguf-py's GGUFWriter) and dump, with gguf-py's own GGUFReader, what each file holds into a
<name>.expected file that the C test compares our reader against, line by line.

gguf-py is not part of this tree. Point Python at a directory holding the `gguf` package:
    GGUF_PY=/path/to/llama.cpp/gguf-py python3 make_fixtures.py [outdir]
(or PYTHONPATH=/path/to/llama.cpp/gguf-py). It needs numpy (1.x: GGUFReader uses
ndarray.newbyteorder). outdir defaults to this script's directory. Output is deterministic
(fixed seed), so a regeneration with the same gguf-py gives identical bytes.

Dump format (one record a line, fields separated by TAB; the C test prints the same):
    version  <u32>
    alignment  <u>
    data_offset  <file offset of the tensor data section>
    n_kv  <n>            n_tensors  <n>
    kv  <key>  <type id>  <value>
    tensor  <name>  <ggml type id>  <ne0,ne1,..>  <offset in data section>  <nbytes>  <fnv1a64>
Values: integers in decimal; bool 0/1; float32/float64 as the hex of their bits (0x%08x /
0x%016x) so both sides agree exactly; strings as their bytes with every byte outside
0x21..0x7e and each of \\ , [ ] written \\xHH; arrays as [<elem type id>;<n>:e0,e1,...]
(recursively for nested arrays). fnv1a64 is FNV-1a 64 of the tensor's raw bytes, as 16 hex.
"""
import os
import struct
import sys

if os.environ.get("GGUF_PY"):
    sys.path.insert(0, os.environ["GGUF_PY"])

import numpy as np  # noqa: E402
import gguf  # noqa: E402
from gguf import (GGUFReader, GGUFWriter, GGUFValueType,  # noqa: E402
                  GGMLQuantizationType, TokenType)

RNG = np.random.default_rng(20261123)


def nonzero(shape, lo=0.05, hi=2.0):
    """Random float32 values, never zero: magnitude in [lo, hi), random sign."""
    mag = RNG.uniform(lo, hi, size=shape)
    sign = np.where(RNG.integers(0, 2, size=shape) == 0, -1.0, 1.0)
    return (mag * sign).astype(np.float32)


def esc(b: bytes) -> str:
    return "".join(chr(c) if 0x21 <= c <= 0x7e and c not in b"\\,[]" else "\\x%02x" % c
                   for c in b)


def fnv1a64(b: bytes) -> str:
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return "%016x" % h


def scalar(t: GGUFValueType, a) -> str:
    """One scalar from GGUFReader's numpy part a (a 1-element array)."""
    v = a[0]
    if t == GGUFValueType.FLOAT32:
        return "0x%08x" % struct.unpack("<I", struct.pack("<f", float(v)))[0]
    if t == GGUFValueType.FLOAT64:
        return "0x%016x" % struct.unpack("<Q", struct.pack("<d", float(v)))[0]
    if t == GGUFValueType.BOOL:
        return "1" if bool(v) else "0"
    return str(int(v))


def walk(parts, i, t: GGUFValueType):
    """Format the value whose GGUFReader parts start at parts[i]; returns (text, next i)."""
    if t == GGUFValueType.STRING:
        return esc(bytes(parts[i + 1])), i + 2
    if t == GGUFValueType.ARRAY:
        et = GGUFValueType(int(parts[i][0]))
        n = int(parts[i + 1][0])
        i += 2
        out = []
        for _ in range(n):
            s, i = walk(parts, i, et)
            out.append(s)
        return "[%d;%d:%s]" % (int(et), n, ",".join(out)), i
    return scalar(t, parts[i]), i + 1


def dump(path: str, out: str) -> None:
    r = GGUFReader(path)
    kvs = [f for name, f in r.fields.items() if not name.startswith("GGUF.")]
    lines = ["version\t%d" % int(r.fields["GGUF.version"].parts[0][0]),
             "alignment\t%d" % int(r.alignment)]
    # data section start: GGUFReader's aligned end of the tensor infos (first tensor's
    # absolute offset minus its relative one; for a file without tensors, recomputed).
    if r.tensors:
        t0 = r.tensors[0]
        data_off = t0.data_offset - int(t0.field.parts[5][0])
    else:
        end = kvs[-1].offset + sum(int(p.nbytes) for p in kvs[-1].parts) if kvs else 24
        data_off = (end + r.alignment - 1) // r.alignment * r.alignment
    lines.append("data_offset\t%d" % data_off)
    lines.append("n_kv\t%d" % len(kvs))
    lines.append("n_tensors\t%d" % len(r.tensors))
    for f in kvs:
        t = f.types[0]
        s, end = walk(f.parts, 3, t)
        assert end == len(f.parts), f.name
        lines.append("kv\t%s\t%d\t%s" % (esc(f.name.encode()), int(t), s))
    for t in r.tensors:
        raw = bytes(r.data[t.data_offset:t.data_offset + int(t.n_bytes)])
        lines.append("tensor\t%s\t%d\t%s\t%d\t%d\t%s" % (
            esc(t.name.encode()), int(t.tensor_type), ",".join(str(int(d)) for d in t.shape),
            int(t.field.parts[5][0]), int(t.n_bytes), fnv1a64(raw)))
    with open(out, "w") as fp:
        fp.write("\n".join(lines) + "\n")


def write_llama(path: str) -> None:
    """A llama-architecture file: typical metadata, every value type, small tensors."""
    w = GGUFWriter(path, "llama")
    w.add_name("fixture-llama")
    w.add_description("gguf-py fixture \u00e9\u00e8 \u2581the \U0001F600")
    w.add_file_type(7)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_context_length(int(RNG.integers(64, 4096)))
    w.add_embedding_length(64)
    w.add_block_count(2)
    w.add_feed_forward_length(172)
    w.add_head_count(8)
    w.add_head_count_kv(4)
    w.add_layer_norm_rms_eps(float(RNG.uniform(1e-6, 1e-5)))
    w.add_rope_dimension_count(8)
    w.add_rope_freq_base(10000.0)
    w.add_tags(["text-generation", "fixture", "comma,and[brackets]", "tab\there"])
    w.add_languages(["en", "fr"])
    # every scalar type, with random and extreme values
    w.add_uint8("test.u8", int(RNG.integers(1, 255)))
    w.add_int8("test.i8", -128)
    w.add_uint16("test.u16", int(RNG.integers(1, 65535)))
    w.add_int16("test.i16", -int(RNG.integers(1, 32768)))
    w.add_uint32("test.u32", 0xffffffff)
    w.add_int32("test.i32", -int(RNG.integers(1, 2**31)))
    w.add_uint64("test.u64", 2**64 - 1)
    w.add_int64("test.i64", -2**63)
    w.add_uint64("test.u64_rand", int(RNG.integers(2**40, 2**62)))
    w.add_int64("test.i64_rand", -int(RNG.integers(2**40, 2**62)))
    w.add_float32("test.f32", float(RNG.uniform(-100, 100)))
    w.add_float32("test.f32_negzero", -0.0)
    w.add_float32("test.f32_inf", float("inf"))
    w.add_float32("test.f32_subnormal", 1e-42)
    w.add_float64("test.f64", float(RNG.uniform(-1e300, 1e300)))
    w.add_float64("test.f64_pi", 3.141592653589793)
    w.add_bool("test.bool_true", True)
    w.add_bool("test.bool_false", False)
    w.add_string("test.str", "hello gguf")
    w.add_key_value("test.str_nul", "a\x00b\x00", GGUFValueType.STRING)
    # arrays: gguf-py infers the element type (python int -> INT32, float -> FLOAT32)
    w.add_array("test.arr_i32", [int(x) for x in RNG.integers(-2**31, 2**31, size=17)])
    w.add_array("test.arr_f32", [float(x) for x in nonzero(9)])
    w.add_array("test.arr_bool", [True, False, True, True])
    w.add_array("test.arr_u8", bytes(int(x) for x in RNG.integers(1, 256, size=11)))
    w.add_array("test.arr_nested", [[1, 2], [3, 4, 5], [int(RNG.integers(1, 1000))]])
    w.add_array("test.arr_nested_str", [["a", "bc"], ["", "\u00e9"]])
    w.add_array("test.arr_nested3", [[[1.5, -2.25]], [[3.0], [float(nonzero(1)[0])]]])
    # tensors: F32 (3-d, size not a multiple of the alignment), F16 (numpy's conversion),
    # BF16 and Q8_0 through gguf-py's own quantizers. Each converted tensor X comes with its
    # fp32 source "X.src", so the C test can check our quantizers bit for bit against gguf-py's.
    w.add_tensor("token_embd.weight", nonzero((16, 64)))
    w.add_tensor("blk.0.attn_norm.weight", nonzero((3, 5, 7)))
    conv = (("blk.0.ffn_norm.weight", (64,), lambda a: a.astype(np.float16), None),
            ("blk.0.attn_q.weight", (16, 32), gguf.quantize_bf16, GGMLQuantizationType.BF16),
            ("blk.0.attn_k.weight", (16, 64), gguf.quantize_q8_0, GGMLQuantizationType.Q8_0),
            ("output.weight", (16, 64), lambda a: a.astype(np.float16), None))
    for name, shape, fn, raw in conv:
        src = nonzero(shape)
        w.add_tensor(name, fn(src), raw_dtype=raw)
        w.add_tensor(name + ".src", src)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_align64(path: str) -> None:
    """general.alignment = 64 and tensors whose sizes need padding."""
    w = GGUFWriter(path, "llama")
    w.add_custom_alignment(64)
    w.add_name("fixture-align64")
    w.add_tensor("a", nonzero((5,)))
    w.add_tensor("b", nonzero((3, 7)).astype(np.float16))
    w.add_tensor("c", nonzero((2, 2, 2, 3)))
    w.add_tensor("d", gguf.quantize_q8_0(nonzero((16, 32))), raw_dtype=GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_tokenizer(path: str) -> None:
    """A vocabulary-only file (no tensors) written with gguf-py's tokenizer helpers."""
    w = GGUFWriter(path, "llama")
    w.add_type("vocab")
    w.add_name("fixture-tokenizer")
    toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    toks += ["\u2581the", "\u2581a", "\u00e9t\u00e9", "\u2581\U0001F600", "ab", "cd"]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + \
        [TokenType.BYTE] * 256 + [TokenType.NORMAL] * 5 + [TokenType.USER_DEFINED]
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(toks)
    w.add_token_scores([float(x) for x in nonzero(len(toks), 0.01, 50.0)])
    w.add_token_types(types)
    w.add_token_merges(["\u2581 t", "h e", "a b"])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_pad_token_id(int(RNG.integers(3, len(toks))))
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(True)
    w.add_chat_template("{% for m in messages %}{{ m['content'] }}\n{% endfor %}")
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, fn in (("llama", write_llama), ("align64", write_align64),
                     ("tokenizer", write_tokenizer)):
        path = os.path.join(outdir, name + ".gguf")
        fn(path)
        dump(path, os.path.join(outdir, name + ".expected"))


if __name__ == "__main__":
    main()
