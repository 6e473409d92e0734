#!/usr/bin/env bash
# Build and test on the GPU machine in one call (device time is scarce).
#   tools/device/gpu-check.sh [steps...]
#     steps: build check refs diag bench bench-models profile sanitize
#     profile: the kernels of one decode step of each of PROFILE_MODELS (default 1b-q4_k_m;
#     made by tools/bench/make-bench-models.sh when missing), each timed alone by ncu and
#     summed per kernel and grid (ncu_summary.py); the CSV and the table go to $OUT.
# Needs .devdeps (../shared/tools/device-deps .devdeps) carried. Results go to $OUT.
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp/out}; mkdir -p "$out"
steps=${*:-build check}
. "$src/.devdeps/env.sh"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
b=/tmp/build-gpu
log() { echo "== $* ($(date +%T))"; }
for s in $steps; do
  case $s in
  build)
    log build
    # The GPU machine has no libtool.m4: configure and Makefile.in travel in carry.
    [ -x "$src/configure" ] || { echo "carry configure, Makefile.in, aclocal.m4, config.h.in, build-aux, m4"; exit 1; }
    mkdir -p $b && cd $b && "$src/configure" -q --disable-maintainer-mode >"$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
    # -k: one component's broken target must not hide every other component's results.
    make -k -j16 >"$out/build.log" 2>&1 || grep -E "error|Error" "$out/build.log" | head -40
    make -k -j16 check TESTS= >>"$out/build.log" 2>&1 || grep -E "error|Error" "$out/build.log" | head -40
    ;;
  check)
    log check
    cd $b && make -k -j8 check-TESTS >"$out/check.log" 2>&1; rc=$?
    grep -E "^(PASS|FAIL|SKIP|XFAIL|ERROR|XPASS):|^# " "$out/check.log" | tail -80
    cp $b/test-suite.log "$out/" 2>/dev/null
    find $b/tests -name '*.log' -newer "$out/configure.log" | tar czf "$out/test-logs.tgz" -T - 2>/dev/null
    ;;
  refs)
    log refs
    mkdir -p /tmp/refs/llama /tmp/refs/gpt
    [ -f "$src/tests/reference/make_reference.py" ] && python3 "$src/tests/reference/make_reference.py" /tmp/refs/llama
    [ -f "$src/tests/gpt/make_gpt_reference.py" ] && python3 "$src/tests/gpt/make_gpt_reference.py" --out /tmp/refs/gpt
    tar czf "$out/refs.tgz" -C /tmp/refs . && ls -la /tmp/refs/*
    ;;
  sanitize)
    log sanitize
    cd $b && for t in ${SANITIZE_TESTS:-}; do
      ( export top_srcdir=$src top_builddir=$b WORKER_PLUGIN_PATH=$b/plugins/.libs CK_FORK=no WORKER_LOG_LEVEL=warn
        timeout ${SANITIZE_TIMEOUT:-300} /usr/local/cuda/bin/compute-sanitizer --error-exitcode 9 "$t" ) \
        >"$out/sanitize-$(basename $t).log" 2>&1; echo "sanitize $t rc=$?"
      grep -E "ERROR SUMMARY|Checks:" "$out/sanitize-$(basename $t).log" | tail -2; done
    ;;
  diag)
    log diag
    cd $b && for t in ${DIAG_TESTS:-}; do
      ( export top_srcdir=$src top_builddir=$b WORKER_PLUGIN_PATH=$b/plugins/.libs CK_FORK=no CK_VERBOSITY=verbose
        timeout ${DIAG_TIMEOUT:-120} $t ) >"$out/diag-$(basename $t).log" 2>&1; echo "diag $t rc=$?"
      grep -vE "^[0-9-]+T[0-9:.]+Z " "$out/diag-$(basename $t).log" | tail -${DIAG_LINES:-15}; done
    ;;
  bench-models)
    log bench-models
    cd $b && WORKER_PLUGIN_PATH=$b/plugins/.libs "$src/tools/bench/bench-all.sh" /tmp/bench "$out/bench" ${BENCH_MODELS:-1b-f16 1b-q8_0 1b-q4_k_m}
    tar czf "$out/bench.tgz" -C "$out" bench && rm -rf "$out/bench"
    ;;
  profile)
    log profile
    # skip the warm-up and the prefill: 4000 launches land inside the decode steps of
    # worker-bench -p 512 -n 64 on the benchmark models; 150 is a 1B step (16 layers)
    cd $b && for m in ${PROFILE_MODELS:-1b-q4_k_m}; do
      [ -f /tmp/bench/bench-$m.gguf ] || "$src/tools/bench/make-bench-models.sh" /tmp/bench \
        "${m%%-*}" "${m#*-}" >"$out/make-$m.log" 2>&1 || { echo "making $m failed"; continue; }
      WORKER_PLUGIN_PATH=$b/plugins/.libs timeout ${PROFILE_TIMEOUT:-300} ncu --cache-control none \
        --clock-control none --launch-skip ${PROFILE_SKIP:-4000} --launch-count ${PROFILE_COUNT:-150} \
        --metrics gpu__time_duration.sum --csv ./tools/worker-bench -m /tmp/bench/bench-$m.gguf \
        -p 512 -n 64 -r 1 --no-bw >"$out/ncu-$m.csv" 2>"$out/ncu-$m.err"; echo "profile $m rc=$?"
      python3 "$src/tools/device/ncu_summary.py" "$out/ncu-$m.csv" 30 | tee "$out/ncu-$m.txt"
    done
    ;;
  bench)
    log bench
    cd $b && [ -x tests/ops/bench_gemv ] && tests/ops/bench_gemv | tee "$out/bench_gemv.txt"
    cd $b && [ -x tests/ops/bench_gemm ] && tests/ops/bench_gemm | tee "$out/bench_gemm.txt"
    ;;
  esac
done
