#!/bin/sh
# demo.sh - start worker-orcd on the default model (models/stories260K.gguf), stream one
# story for "Once upon a time" with curl, and stop the server. Run from the build directory.
#   tools/demo.sh [worker-orcd options, e.g. --device host]
# The default device is cuda:0; without a GPU the worker says so and exits: pass
# --device host to use the (slow, plain C) reference backend instead.
set -u
port=${PORT:-8080}
here=$(pwd)
WORKER_PLUGIN_PATH=${WORKER_PLUGIN_PATH:-$here/plugins/.libs}
export WORKER_PLUGIN_PATH
./server/worker-orcd --port "$port" "$@" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT INT TERM
i=0
until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || { echo "worker-orcd did not start (see above)" >&2; exit 1; }
    i=$((i + 1)); [ $i -lt 300 ] || { echo "worker-orcd not ready after 30 s" >&2; exit 1; }
    sleep 0.1
done
curl -sN "http://127.0.0.1:$port/execute" -H 'Content-Type: application/json' \
    -d '{"job_id": "demo", "prompt": "Once upon a time", "max_tokens": 200, "temperature": 0}'
echo
