#!/bin/sh
# abi_exports.sh - libworker.so exports only the public API: every defined dynamic symbol
# is cuda_* or worker_*, and the locked functions are all there. Needs nm (binutils).
set -eu
lib="${top_builddir:-.}/runtime/.libs/libworker.so"
if [ ! -f "$lib" ]; then
    echo "FAIL: $lib not built"
    exit 1
fi
command -v nm >/dev/null 2>&1 || { echo "SKIP: nm not found"; exit 77; }

syms=$(nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u)
bad=$(printf '%s\n' "$syms" | grep -Ev '^(cuda_|worker_)' | grep -v '^$' || true)
if [ -n "$bad" ]; then
    echo "FAIL: libworker.so exports symbols outside cuda_*/worker_*:"
    printf '  %s\n' $bad
    exit 1
fi

# The 14 locked functions (FFI_INTERFACE_LOCKED.md) and the additive ones of issue 2.
missing=
for f in cuda_init cuda_destroy cuda_get_device_count cuda_load_model cuda_unload_model \
         cuda_model_get_vram_usage cuda_inference_start cuda_inference_next_token \
         cuda_inference_free cuda_check_vram_residency cuda_get_vram_usage \
         cuda_get_process_vram_usage cuda_check_device_health cuda_error_message \
         worker_abi_version worker_version_string worker_last_error_detail \
         worker_init worker_init_ex worker_context_is_host; do
    printf '%s\n' "$syms" | grep -qx "$f" || missing="$missing $f"
done
if [ -n "$missing" ]; then
    echo "FAIL: libworker.so does not export:$missing"
    exit 1
fi
echo "ok: $(printf '%s\n' "$syms" | grep -c .) symbols, all cuda_*/worker_*"
