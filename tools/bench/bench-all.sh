#!/bin/sh
# bench-all.sh - issue 8's benchmark in one call: make the models that are missing, run
# worker-bench on each (table and JSON), collect the results.
#
#   tools/bench/bench-all.sh MODELDIR OUTDIR [MODEL...]
#
# Run from the build directory. MODEL: 1b-f16 1b-q8_0 1b-q4_k_m 8b-f16 8b-q4_k_m (default:
# these five, the ones with targets; 8b-q8_0 also works). Per model: OUTDIR/<model>.txt
# (the table) and OUTDIR/<model>.json; OUTDIR/summary.txt gathers the tables.
# BENCH_ARGS: worker-bench options (default "-p 512 -n 128 -r 5"); DEVICE: default cuda:0.
set -eu

[ $# -ge 2 ] || { echo "usage: $0 MODELDIR OUTDIR [MODEL...]" >&2; exit 2; }
mdir=$1
odir=$2
shift 2
models=${*:-1b-f16 1b-q8_0 1b-q4_k_m 8b-f16 8b-q4_k_m}
here=$(cd "$(dirname "$0")" && pwd)
bench=${WORKER_BENCH:-./tools/worker-bench}
args=${BENCH_ARGS:--p 512 -n 128 -r 5}
device=${DEVICE:-cuda:0}
mkdir -p "$odir"
: > "$odir/summary.txt"
status=0
for m in $models; do
    shape=${m%%-*}
    type=${m#*-}
    f=$mdir/bench-$m.gguf
    if [ ! -f "$f" ]; then
        "$here/make-bench-models.sh" "$mdir" "$shape" "$type" || { status=1; continue; }
    fi
    echo "== $m ($(date +%T))"
    # shellcheck disable=SC2086
    if "$bench" -m "$f" --device "$device" $args --json-out "$odir/$m.json" \
        > "$odir/$m.txt" 2> "$odir/$m.log"; then
        cat "$odir/$m.txt"
        { echo "== $m"; cat "$odir/$m.txt"; echo; } >> "$odir/summary.txt"
    else
        echo "worker-bench failed on $m:"
        grep -v '^[0-9-]*T[0-9:.]*Z ' "$odir/$m.log" | tail -5
        status=1
    fi
done
exit $status
