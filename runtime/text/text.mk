# runtime/text: tokenizers (llama SPM, gpt2 byte-level BPE) and the sampler.
runtime_libwrk_la_SOURCES += runtime/text/tokenizer.h runtime/text/sampler.h \
	runtime/text/tok_internal.h runtime/text/utf8.h runtime/text/utf8.c \
	runtime/text/tok_util.c runtime/text/tokenizer.c runtime/text/tokenizer_gguf.c \
	runtime/text/tok_spm.c runtime/text/tok_bpe.c runtime/text/sampler.c
