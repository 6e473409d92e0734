/*
 * locked_signatures.h - the 14 functions of FFI_INTERFACE_LOCKED.md with exactly the spec's
 * signatures, as one X-macro list: LOCKED(name, return type, parameter types).
 * Checked against include/worker_ffi.h in C (locked_decls.c), C++ (locked_decls.cc) and by
 * linking against libworker.so (test_locked_api.c). Editing this list is editing the spec.
 */
#define LOCKED_FUNCTIONS(LOCKED) \
    LOCKED(cuda_init, CudaContext *, (int, int *)) \
    LOCKED(cuda_destroy, void, (CudaContext *)) \
    LOCKED(cuda_get_device_count, int, (void)) \
    LOCKED(cuda_load_model, CudaModel *, (CudaContext *, const char *, uint64_t *, int *)) \
    LOCKED(cuda_unload_model, void, (CudaModel *)) \
    LOCKED(cuda_model_get_vram_usage, uint64_t, (CudaModel *)) \
    LOCKED(cuda_inference_start, InferenceResult *, \
           (CudaModel *, const char *, int, float, uint64_t, int *)) \
    LOCKED(cuda_inference_next_token, bool, (InferenceResult *, char *, int, int *, int *)) \
    LOCKED(cuda_inference_free, void, (InferenceResult *)) \
    LOCKED(cuda_check_vram_residency, bool, (CudaModel *, int *)) \
    LOCKED(cuda_get_vram_usage, uint64_t, (CudaModel *)) \
    LOCKED(cuda_get_process_vram_usage, uint64_t, (CudaContext *)) \
    LOCKED(cuda_check_device_health, bool, (CudaContext *, int *)) \
    LOCKED(cuda_error_message, const char *, (int))

#define LOCKED_FUNCTION_COUNT 14
