/*
 * locked_decls.c - compile-time check (C11, gcc/clang) that worker_ffi.h declares each
 * locked function with exactly the spec's type: a changed parameter or return type fails
 * the build. Also assigns each to a function pointer of the exact type.
 */
#include "worker_ffi.h"
#include "locked_signatures.h"

#define CHECK_TYPE(name, ret, params) \
    _Static_assert(__builtin_types_compatible_p(__typeof__(name), ret params), \
                   #name " does not have the locked signature " #ret " " #params);
LOCKED_FUNCTIONS(CHECK_TYPE)

#define POINTER(name, ret, params) ret (*const p_##name) params = name;
LOCKED_FUNCTIONS(POINTER)

/* The error enum: 0..8 without gaps, and 99. */
_Static_assert(CUDA_SUCCESS == 0 && CUDA_ERROR_INVALID_DEVICE == 1 &&
               CUDA_ERROR_OUT_OF_MEMORY == 2 && CUDA_ERROR_MODEL_LOAD_FAILED == 3 &&
               CUDA_ERROR_INFERENCE_FAILED == 4 && CUDA_ERROR_INVALID_PARAMETER == 5 &&
               CUDA_ERROR_KERNEL_LAUNCH_FAILED == 6 && CUDA_ERROR_VRAM_RESIDENCY_FAILED == 7 &&
               CUDA_ERROR_DEVICE_NOT_FOUND == 8 && CUDA_ERROR_UNKNOWN == 99,
               "CudaErrorCode values are locked");
