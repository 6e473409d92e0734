#!/bin/sh
# abi_check.sh - compare libworker.so with the committed public-ABI baseline
# abi/libworker.abi (abidiff, Debian: abigail-tools). Fails when a function or variable was
# removed or changed (an incompatible change to existing API); functions that were only
# added pass, with a reminder to regenerate the baseline (make abi-baseline) and bump the
# minor version. SKIP (77) when abidiff is missing or the library has no debug info.
set -u
src="${top_srcdir:-.}"
lib="${top_builddir:-.}/runtime/.libs/libworker.so"
base="$src/abi/libworker.abi"
ABIDIFF="${ABIDIFF:-$(command -v abidiff || true)}"

[ -n "$ABIDIFF" ] || { echo "SKIP: abidiff not found (install abigail-tools)"; exit 77; }
[ -f "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }
[ -f "$base" ] || { echo "FAIL: no baseline $base (run: make abi-baseline)"; exit 1; }
if command -v readelf >/dev/null 2>&1 && ! readelf -S "$lib" | grep -q '\.debug_info'; then
    echo "SKIP: $lib has no debug info (build with -g to compare types)"
    exit 77
fi

out=$("$ABIDIFF" --drop-private-types --headers-dir2 "$src/include" "$base" "$lib" 2>&1)
rc=$?
printf '%s\n' "$out"
# exit status bits: 1 tool error, 2 usage error, 4 ABI change, 8 incompatible change
if [ $((rc & 3)) -ne 0 ]; then
    echo "FAIL: abidiff could not compare (status $rc)"
    exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then
    echo "FAIL: incompatible change to the public ABI (see abi/README.md)"
    exit 1
fi
# A changed signature or struct layout is status 4 with "Changed" counts; additions only
# ("N Added") are compatible.
changed=$(printf '%s\n' "$out" | sed -n 's/.*summary: \([0-9]*\) Removed.*, \([0-9]*\) Changed.*/\1 \2/p' |
          awk '{ s += $1 + $2 } END { print s + 0 }')
if [ "$changed" -ne 0 ]; then
    echo "FAIL: $changed removed or changed public functions/variables (see abi/README.md)"
    exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
    echo "NOTE: compatible additions since the baseline: run 'make abi-baseline' and bump"
    echo "      WORKER_ABI_VERSION_MINOR (abi/README.md)"
fi
echo "ok: public ABI compatible with $base"
exit 0
