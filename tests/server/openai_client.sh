#!/bin/sh
# OpenAI client test: starts worker-orcd --device host on models/stories260K.gguf on a free
# port and runs openai_client.mjs (the official `openai` npm package) against it.
# SKIP (77) without node, without tests/server/node_modules (run `npm ci` in tests/server),
# or without the model. Bounded: 60 s to start, 120 s for the client, the server is killed.
srcdir=${top_srcdir:-$(dirname "$0")/../..}
builddir=${top_builddir:-$srcdir}
bin=$builddir/server/worker-orcd
model=$srcdir/models/stories260K.gguf
here=$srcdir/tests/server

command -v node >/dev/null 2>&1 || { echo "SKIP: node not installed"; exit 77; }
[ -d "$here/node_modules/openai" ] || { echo "SKIP: run 'npm ci' in tests/server"; exit 77; }
[ -f "$model" ] || { echo "SKIP: $model missing"; exit 77; }
[ -x "$bin" ] || { echo "SKIP: $bin not built"; exit 77; }

log=$(mktemp "${TMPDIR:-/tmp}/worker-orcd-openai.XXXXXX")
"$bin" --device host --model "$model" --port 0 --log-format text </dev/null 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT INT TERM

port=
i=0
while [ $i -lt 600 ]; do
    port=$(sed -n 's/.* ready .*listen=http:\/\/[^ ]*:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
    [ -n "$port" ] && break
    kill -0 $pid 2>/dev/null || { echo "worker-orcd exited:"; cat "$log"; exit 1; }
    sleep 0.1
    i=$((i + 1))
done
[ -n "$port" ] || { echo "worker-orcd not ready in 60 s:"; cat "$log"; exit 1; }

WORKER_URL=http://127.0.0.1:$port timeout 120 node "$here/openai_client.mjs"
rc=$?
[ $rc -eq 0 ] || { echo "---- server log ----"; tail -n 30 "$log"; }
exit $rc
