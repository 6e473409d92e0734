# runtime/core: errors, logging, the VRAM accountant, the device layer, the FFI surface.
runtime_libwrk_la_SOURCES += runtime/core/error.c runtime/core/wrk_error.h \
	runtime/core/wrk_log.h runtime/core/wrk_vram.h runtime/core/wrk_context.h
if HAVE_CUDA
runtime_libwrk_la_SOURCES += runtime/core/probe_cuda.cu
endif
