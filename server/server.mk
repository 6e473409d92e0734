# server: worker-orcd, the HTTP worker. It links only libworker's public API (worker_ffi.h,
# worker_ext.h); the ini parser is compiled in directly (runtime/config/config.c is
# self-contained). See server/README.md.
bin_PROGRAMS += server/worker-orcd
SRV_CORE_SOURCES = \
	server/srv_log.c server/srv_log.h \
	server/srv_json.c server/srv_json.h \
	server/srv_params.c server/srv_params.h \
	server/srv_chat.c server/srv_chat.h
server_worker_orcd_SOURCES = server/main.c $(SRV_CORE_SOURCES) \
	server/srv_opts.c server/srv_opts.h \
	server/srv_job.c server/srv_job.h \
	server/srv_engine.c server/srv_engine.h \
	server/srv_metrics.c server/srv_metrics.h \
	server/srv_http.c server/srv_http.h \
	server/srv_stream.c server/srv_routes.c server/srv_openai.c \
	server/srv_callback.c server/srv_callback.h \
	runtime/config/config.c runtime/config/config.h
server_worker_orcd_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS) $(INIH_CFLAGS)
# The default model when neither --model nor [model] path names one: the installed copy,
# else the one in the source tree (so an uninstalled build runs out of the box).
server_worker_orcd_CPPFLAGS = $(AM_CPPFLAGS) \
	-DWORKER_DEFAULT_MODEL='"$(pkgdatadir)/models/stories260K.gguf"' \
	-DWORKER_SOURCE_MODEL='"$(abs_top_srcdir)/models/stories260K.gguf"'
server_worker_orcd_LDADD = runtime/libworker.la $(MHD_LIBS) $(JANSSON_LIBS) $(INIH_LIBS)
EXTRA_DIST += server/README.md
