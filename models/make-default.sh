#!/bin/sh
# make-default.sh - regenerate models/stories260K.gguf, the project's default model, from
# Karpathy's llama2.c checkpoint (see models/README.md).
#
#   models/make-default.sh [WORKER_CONVERT]
#
# WORKER_CONVERT: the converter to use (default: tools/worker-convert of the build in the
# current directory). STORIES_DIR: where stories260K.bin and tok512.bin are (default
# ../shared/data/stories260K beside the source tree). The result is written atomically.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
convert=${1:-./tools/worker-convert}
stories=${STORIES_DIR:-$here/../../shared/data/stories260K}

for f in "$stories/stories260K.bin" "$stories/tok512.bin"; do
    if [ ! -r "$f" ]; then
        echo "make-default.sh: $f not found (set STORIES_DIR)" >&2
        exit 1
    fi
done
if [ ! -x "$convert" ]; then
    echo "make-default.sh: converter $convert not found; build it with 'make tools/worker-convert'" >&2
    exit 1
fi

"$convert" --from llama2c "$stories/stories260K.bin" "$stories/tok512.bin" \
    -o "$here/stories260K.gguf" --type f32 --name stories260K
echo "sha256: $(sha256sum "$here/stories260K.gguf" | cut -d' ' -f1)"
