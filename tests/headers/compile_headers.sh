#!/bin/sh
# compile_headers.sh - each public header compiles alone, and twice (double inclusion), as
# C99 and C11 with gcc and clang (-Wall -Wextra -Werror -pedantic) and as C++ with g++ and
# clang++; the locked declarations have exactly the spec's types in C and C++.
# A compiler that is not installed is reported and skipped; SKIP (77) if none is.
set -u
src="${top_srcdir:-.}"
inc="$src/include"
here="$src/tests/headers"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wrk-headers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
ran=0
headers="worker_ffi.h worker_types.h worker_errors.h worker_ext.h"
flags="-Wall -Wextra -Werror -pedantic -fsyntax-only -I$inc"

# run CMD...: compile, report, count.
try() {
    if "$@" >"$tmp/log" 2>&1; then
        ran=$((ran + 1))
    else
        echo "FAIL: $*"
        cat "$tmp/log"
        fail=1
    fi
}

for h in $headers; do
    printf '#include "%s"\n' "$h" >"$tmp/alone.c"
    printf '#include "%s"\n#include "%s"\nint wrk_header_test_dummy;\n' "$h" "$h" >"$tmp/twice.c"
    cp "$tmp/alone.c" "$tmp/alone.cc"
    cp "$tmp/twice.c" "$tmp/twice.cc"
    for cc in gcc clang; do
        if ! command -v $cc >/dev/null 2>&1; then echo "note: $cc not installed"; continue; fi
        for std in c99 c11; do
            try $cc -std=$std $flags -x c "$tmp/alone.c"
            try $cc -std=$std $flags -x c "$tmp/twice.c"
        done
    done
    for cxx in g++ clang++; do
        if ! command -v $cxx >/dev/null 2>&1; then echo "note: $cxx not installed"; continue; fi
        try $cxx -std=c++11 $flags -x c++ "$tmp/alone.cc"
        try $cxx -std=c++17 $flags -x c++ "$tmp/twice.cc"
    done
done

# the locked signatures (the C check uses the GNU __builtin_types_compatible_p)
for cc in gcc clang; do
    command -v $cc >/dev/null 2>&1 || continue
    try $cc -std=c11 $flags -Wno-pedantic -I"$here" -x c "$here/locked_decls.c"
done
for cxx in g++ clang++; do
    command -v $cxx >/dev/null 2>&1 || continue
    try $cxx -std=c++11 $flags -I"$here" -x c++ "$here/locked_decls.cc"
done

if [ $ran -eq 0 ] && [ $fail -eq 0 ]; then echo "SKIP: no compiler found"; exit 77; fi
[ $fail -eq 0 ] || exit 1
echo "ok: $ran header compilations"
