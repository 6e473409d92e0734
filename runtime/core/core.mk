# runtime/core: errors, logging, the VRAM accountant, the device layer, the FFI surface.
runtime_libwrk_la_SOURCES += runtime/core/error.c runtime/core/wrk_error.h \
	runtime/core/wrk_api.h runtime/core/wrk_log.h runtime/core/log.c \
	runtime/core/wrk_env.h runtime/core/env.c \
	runtime/core/wrk_vram.h runtime/core/vram.c \
	runtime/core/wrk_context.h runtime/core/device_host.h runtime/core/device_host.c \
	runtime/core/device_cuda.c runtime/core/ffi_context.c runtime/core/ffi_info.c
