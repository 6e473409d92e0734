#!/bin/sh
# abi_exports.sh - libworker.so exports only the public API: every defined dynamic symbol
# is cuda_* or worker_*, and the locked functions are all there. Needs nm (binutils).
set -eu
lib="${top_builddir:-.}/runtime/.libs/libworker.so"
if [ ! -f "$lib" ]; then
    echo "FAIL: $lib not built"
    exit 1
fi
command -v nm >/dev/null 2>&1 || { echo "SKIP: nm not found"; exit 77; }

syms=$(nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u)
bad=$(printf '%s\n' "$syms" | grep -Ev '^(cuda_|worker_)' | grep -v '^$' || true)
if [ -n "$bad" ]; then
    echo "FAIL: libworker.so exports symbols outside cuda_*/worker_*:"
    printf '  %s\n' $bad
    exit 1
fi

# Every function the public headers declare must be exported (the 14 locked ones and all
# additive extensions): declarations are the lines of include/*.h that start a type and
# name a cuda_*/worker_* function.
inc="${top_srcdir:-.}/include"
declared=$(cat "$inc"/worker_ffi.h "$inc"/worker_types.h "$inc"/worker_errors.h \
               "$inc"/worker_ext.h |
           grep -E '^[A-Za-z].*[ *](cuda|worker)_[a-z0-9_]+\(' | grep -v '^#' |
           sed -E 's/.*[ *]((cuda|worker)_[a-z0-9_]+)\(.*/\1/' | sort -u)
n_declared=$(printf '%s\n' "$declared" | grep -c .)
if [ "$n_declared" -lt 14 ]; then
    echo "FAIL: found only $n_declared declarations in $inc (expected at least the 14 locked)"
    exit 1
fi
missing=
for f in $declared; do
    printf '%s\n' "$syms" | grep -qx "$f" || missing="$missing $f"
done
if [ -n "$missing" ]; then
    echo "FAIL: libworker.so does not export:$missing"
    exit 1
fi
echo "ok: $(printf '%s\n' "$syms" | grep -c .) symbols, all cuda_*/worker_*, all $n_declared declared ones"
