#!/bin/sh
# make-bench-models.sh - write the benchmark models of issue 8 (random-weight llama GGUFs).
#
#   tools/bench/make-bench-models.sh DIR [1b|8b|all] [TYPES...]
#
# TYPES: f16 q8_0 q4_k_m (default: all three). Files: DIR/bench-<shape>-<type>.gguf; an
# existing file is kept unless FORCE=1. MAKE_BENCH_MODEL: the generator (default:
# tools/bench/make-bench-model of the build in the current directory). THREADS: default all
# CPUs. Sizes: 1b f16 2.5 GB, q8_0 1.3 GB, q4_k_m 0.8 GB; 8b f16 16 GB, q8_0 8.5 GB,
# q4_k_m 4.9 GB (about 34 GB for all).
set -eu

usage() {
    echo "usage: $0 DIR [1b|8b|all] [f16|q8_0|q4_k_m ...]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
dir=$1
which=${2:-all}
[ $# -ge 2 ] && shift 2 || shift $#
types=${*:-f16 q8_0 q4_k_m}
gen=${MAKE_BENCH_MODEL:-./tools/bench/make-bench-model}
threads=${THREADS:-$(nproc 2>/dev/null || echo 4)}

case $which in
1b) shapes=1b ;;
8b) shapes=8b ;;
all) shapes="1b 8b" ;;
*) usage ;;
esac
for t in $types; do
    case $t in f16|q8_0|q4_k_m) ;; *) usage ;; esac
done
if [ ! -x "$gen" ]; then
    echo "$0: $gen not found: build it (make tools/bench/make-bench-model) or set MAKE_BENCH_MODEL" >&2
    exit 1
fi
mkdir -p "$dir"
for s in $shapes; do
    for t in $types; do
        f=$dir/bench-$s-$t.gguf
        if [ -f "$f" ] && [ "${FORCE:-0}" != 1 ]; then
            echo "$f exists (FORCE=1 rewrites it)"
            continue
        fi
        start=$(date +%s)
        "$gen" --shape "$s" --type "$t" -t "$threads" -o "$f"
        echo "$f: $(du -h "$f" | cut -f1), $(( $(date +%s) - start )) s"
    done
done
