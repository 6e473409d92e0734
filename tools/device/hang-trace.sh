#!/usr/bin/env bash
# Where does a test hang? Run it, wait, then print every thread's stack with gdb.
#   tools/device/hang-trace.sh SECONDS PROGRAM [ARGS...]   (env as for make check)
set -u
wait_s=$1; shift
"$@" > /tmp/hang-trace.out 2>&1 &
pid=$!
for _ in $(seq "$wait_s"); do sleep 1; kill -0 $pid 2>/dev/null || { echo "exited: $(wait $pid; echo $?)"; tail -5 /tmp/hang-trace.out; exit 0; }; done
echo "still running after ${wait_s}s; stacks:"
if command -v gdb >/dev/null; then
  gdb -p $pid -batch -ex "thread apply all bt 25" 2>/dev/null | grep -E "^#|^Thread" | head -80
else
  echo "no gdb"; for t in /proc/$pid/task/*; do echo "$t: $(cat $t/wchan 2>/dev/null)"; done
fi
grep -vE "^[0-9-]+T[0-9:.]+Z " /tmp/hang-trace.out | tail -5
kill -9 $pid
