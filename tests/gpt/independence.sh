#!/bin/sh
# independence.sh - gpt.so is built, versioned and loaded on its own (issue 7).
#
# Builds copies of the gpt plugin from plugins/gpt/*.c alone (host kernel set; only the
# public headers abi/ and include/; no runtime, no libworker, nothing of plugins/llama),
# then shows that the unchanged runtime picks a copy up through an ini file:
#   1. [plugins] path = <copy dir>: a copy named "gpt" with another version string is found
#      before the in-tree build and serves gpt2;
#   2. [plugins] path = <in-tree dir>:<copy dir> with prefer = gpt2=gptcopy: a copy named
#      "gptcopy", found second, is chosen by prefer.
# Needs: $top_srcdir, $top_builddir (set by make check), a C compiler (CC, default cc).
set -eu

: "${top_srcdir:?run through make check}"
: "${top_builddir:?run through make check}"
CC=${CC:-cc}
drv="$top_builddir/tests/gpt/test_gpt_host"
[ -x "$drv" ] || { echo "independence.sh: $drv not built" >&2; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpt-indep-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

srcs="gpt_plugin.c gpt_load.c gpt_kv.c gpt_forward.c gpt_kernels_host.c gpt_kernels_none.c"
build() {   # build NAME VERSION DIR
    mkdir -p "$3"
    files=""
    for f in $srcs; do files="$files $top_srcdir/plugins/gpt/$f"; done
    # shellcheck disable=SC2086
    $CC -std=c11 -D_GNU_SOURCE -O2 -fPIC -shared -fvisibility=hidden \
        -Wall -Wextra -Werror -Wno-unused-parameter \
        -I"$top_srcdir/abi" -I"$top_srcdir/include" \
        -DGPT_PLUGIN_NAME="\"$1\"" -DGPT_PLUGIN_VERSION="\"$2\"" \
        -o "$3/$1.so" $files -lm
    # exactly one exported symbol: the entry point
    syms=$(nm -D --defined-only "$3/$1.so" | awk '{print $3}')
    if [ "$syms" != "worker_plugin_entry" ]; then
        echo "independence.sh: $1.so exports: $syms" >&2
        exit 1
    fi
}
build gpt 9.9.9-independent "$tmp/copy1"
build gptcopy 7.7.7-copy "$tmp/copy2"

"$drv" --write-fixture "$tmp/model.gguf"

cat > "$tmp/one.ini" <<INI
[runtime]
device = host
[plugins]
path = $tmp/copy1
prefer = gpt2=gpt
INI
out=$("$drv" --which "$tmp/one.ini" "$tmp/model.gguf")
echo "case 1: $out"
case "$out" in
    "gpt 9.9.9-independent "*) ;;
    *) echo "independence.sh: case 1 served by '$out', want the copy gpt 9.9.9-independent" >&2
       exit 1 ;;
esac

cat > "$tmp/two.ini" <<INI
[runtime]
device = host
[plugins]
path = $top_builddir/plugins/.libs:$tmp/copy2
prefer = gpt2=gptcopy
INI
out=$("$drv" --which "$tmp/two.ini" "$tmp/model.gguf")
echo "case 2: $out"
case "$out" in
    "gptcopy 7.7.7-copy "*) ;;
    *) echo "independence.sh: case 2 served by '$out', want gptcopy 7.7.7-copy" >&2
       exit 1 ;;
esac
echo "independence.sh: the runtime served gpt2 with separately built copies of gpt.so"
