# tools: worker-convert (checkpoints of other formats -> GGUF).
bin_PROGRAMS += tools/worker-convert
tools_worker_convert_SOURCES = tools/convert/main.c tools/convert/convert.h \
	tools/convert/sources.c tools/convert/llama2c.c tools/convert/wc_input.c \
	tools/convert/wc_input.h
tools_worker_convert_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/convert
tools_worker_convert_LDADD = runtime/libwrk.la
tools_worker_convert_LDFLAGS = $(WRK_LINK_FLAGS)

# The default model (models/README.md): regenerate with `make default-model` from the
# llama2.c checkpoint in ../shared/data (or STORIES_DIR=...).
# It is installed as $(pkgdatadir)/models/stories260K.gguf, the model worker-orcd serves
# when none is named (the server can take the path from WORKER_DEFAULT_MODEL).
modelsdir = $(pkgdatadir)/models
dist_models_DATA = models/stories260K.gguf
EXTRA_DIST += models/README.md models/make-default.sh
default-model: tools/worker-convert
	$(SHELL) $(top_srcdir)/models/make-default.sh $(top_builddir)/tools/worker-convert
.PHONY: default-model
include tools/bench/bench.mk
EXTRA_DIST += tools/demo.sh
