# runtime/plugin: the architecture plugin registry on libltdl.
runtime_libwrk_la_SOURCES += runtime/plugin/registry.h runtime/plugin/registry.c
