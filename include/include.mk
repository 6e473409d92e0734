# Public headers are installed by runtime/runtime.mk; header tests live in tests/headers.mk.
