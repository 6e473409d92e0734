#!/bin/sh
# sdk_test.sh - the plugin SDK end to end (issue 4 item 4):
#   1. install the SDK (plugin header, public headers, worker-orcd-plugin.pc) with
#      `make install DESTDIR=...` into a temporary root;
#   2. build tests/plugin/sdk_example/toy2.c OUT OF TREE with nothing but
#      `pkg-config --cflags worker-orcd-plugin` and `cc -shared -fPIC`;
#   3. drop toy2.so into a directory named by an ini file's [plugins] path;
#   4. have sdk_run (public API of libworker.so only) load a toy2 GGUF and generate.
# Runs under `make check` (top_srcdir / top_builddir come from the test environment).
set -eu
: "${top_srcdir:?run me from make check}" "${top_builddir:?run me from make check}"
MAKE=${MAKE:-make}
CC=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sdk_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
root=$tmp/root

# 1. install only the SDK pieces (the rest of `make install` is not needed here).
$MAKE -s -C "$top_builddir" DESTDIR="$root" \
	install-pluginincludeHEADERS install-includeHEADERS install-pkgconfigDATA >/dev/null
pc=$(find "$root" -name worker-orcd-plugin.pc | head -n 1)
test -n "$pc" || { echo "FAIL: worker-orcd-plugin.pc was not installed"; exit 1; }
test -f "$(find "$root" -path '*/worker-orcd/worker_plugin.h' | head -n 1)" ||
	{ echo "FAIL: worker_plugin.h was not installed under include/worker-orcd"; exit 1; }

# 2. compile against the installed SDK only: pkg-config sees nothing but our .pc, and the
#    sysroot makes its paths point into the temporary root.
cflags=$(PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$root \
	pkg-config --cflags worker-orcd-plugin)
case " $cflags " in
	*"$top_srcdir"*|*"$top_builddir"*) echo "FAIL: SDK cflags point into the tree: $cflags"; exit 1 ;;
esac
echo "SDK cflags: $cflags"
abi=$(PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR=$(dirname "$pc") pkg-config --variable=abi_major worker-orcd-plugin)
test "$abi" = 1 || { echo "FAIL: abi_major variable is '$abi'"; exit 1; }
mkdir "$tmp/plugins" "$tmp/src"
cp "$top_srcdir/tests/plugin/sdk_example/toy2.c" "$tmp/src/"
# shellcheck disable=SC2086
(cd "$tmp/src" && $CC -std=c11 -Wall -Wextra -Werror -shared -fPIC $cflags \
	-o "$tmp/plugins/toy2.so" toy2.c)

# 3. an ini file naming the plugin directory.
cat > "$tmp/worker-orcd.ini" <<EOF2
[runtime]
device = host

[plugins]
path = $tmp/plugins
EOF2

# 4. a toy2 model, loaded and run through the public API.
"$top_builddir/tests/plugin/toy_fixture" toy2 "$tmp/toy2.gguf"
"$top_builddir/tests/plugin/sdk_run" "$tmp/worker-orcd.ini" "$tmp/toy2.gguf" toy2 toy2
echo "PASS: out-of-tree plugin built with the installed SDK, loaded and run"
