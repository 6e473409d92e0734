#!/bin/sh
# run-ci.sh - build the GGUF reader's libFuzzer target with clang and run it for
# FUZZ_SECONDS (default 60) from the seed corpus; exit non-zero on any crash, sanitizer
# report, leak, timeout or allocation over the limit.
#
# Builds with clang directly (no configure needed) into FUZZ_BUILD_DIR (default: a new
# temporary directory). New inputs go to the build dir's corpus, never into the repo.
#   FUZZ_CC (clang), FUZZ_SECONDS (60), FUZZ_BUILD_DIR, GEN_CORPUS=1 (rewrite fuzz/corpus/
#   from fuzz/gen_corpus.c instead of fuzzing).
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
cc=${FUZZ_CC:-clang}
secs=${FUZZ_SECONDS:-60}
out=${FUZZ_BUILD_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/gguf-fuzz.XXXXXX")}
mkdir -p "$out/corpus"

gguf_src="runtime/gguf/reader.c runtime/gguf/reader_tensors.c runtime/gguf/reader_get.c
runtime/gguf/writer.c runtime/gguf/quant.c runtime/gguf/quant_k.c runtime/core/error.c"
srcs=
for f in $gguf_src; do srcs="$srcs $srcdir/$f"; done
incs="-I$srcdir/include -I$srcdir/abi -I$srcdir/runtime"

if [ "${GEN_CORPUS:-0}" = 1 ]; then
    $cc -std=c11 -D_GNU_SOURCE -O1 $incs "$srcdir/fuzz/gen_corpus.c" $srcs -lm \
        -o "$out/gen_corpus"
    mkdir -p "$srcdir/fuzz/corpus"
    "$out/gen_corpus" "$srcdir/fuzz/corpus"
    echo "run-ci: seed corpus written to $srcdir/fuzz/corpus"
    exit 0
fi

$cc -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $incs \
    "$srcdir/fuzz/gguf_fuzz.c" $srcs -lm -o "$out/gguf_fuzz"

echo "run-ci: fuzzing the GGUF reader for ${secs}s (build dir $out)"
# -malloc_limit_mb: no single allocation may exceed it (inputs are <= 64 KiB, so the
# reader's allocations, bounded by a small multiple of the input, stay far below).
if "$out/gguf_fuzz" -max_total_time="$secs" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=256 -print_final_stats=1 \
        -artifact_prefix="$out/" "$out/corpus" "$srcdir/fuzz/corpus"; then
    echo "run-ci: PASS (no crash in ${secs}s)"
else
    rc=$?
    echo "run-ci: FAIL (fuzzer exit $rc); reproducer(s) in $out:" >&2
    ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null >&2 || true
    exit 1
fi
