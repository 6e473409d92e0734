# runtime/gguf: the GGUF reader and writer, and the tensor element types (owner: B).
runtime_libwrk_la_SOURCES += runtime/gguf/gguf.h runtime/gguf/gguf_writer.h \
	runtime/gguf/quant.h runtime/gguf/gguf_internal.h runtime/gguf/quant_internal.h \
	runtime/gguf/reader.c runtime/gguf/reader_tensors.c runtime/gguf/reader_get.c \
	runtime/gguf/writer.c runtime/gguf/quant.c runtime/gguf/quant_k.c
