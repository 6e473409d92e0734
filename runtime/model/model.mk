# runtime/model: cuda_load_model and friends (GGUF -> plugin -> weights in backend memory).
runtime_libwrk_la_SOURCES += runtime/model/model_internal.h runtime/model/model_host.c \
	runtime/model/model_load.c runtime/model/model_api.c
if HAVE_CUDA
runtime_libwrk_la_SOURCES += runtime/model/upload_cuda.cu
endif
