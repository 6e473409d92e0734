/*
 * registry.h - finding, checking and choosing architecture plugins (libltdl).
 *
 * Search order: the directories of [plugins] path / WorkerInitOptions.plugin_path, then
 * WORKER_PLUGIN_PATH (':'-separated), then the installed $(pkglibdir)/plugins. Every module
 * found is opened with lt_dlopenext, its entry symbol resolved (also as
 * <module>_LTX_worker_plugin_entry), and its descriptor checked: abi_major equal,
 * abi_minor <= ours, struct_size >= ABI 1.0's, name and architectures present. Rejected
 * modules are logged with the reason and closed; the runtime stays usable.
 * If two plugins serve one architecture, prefer (arch=plugin pairs) decides, else the
 * first found; the choice is logged. Modules stay open until the registry is freed.
 */
#ifndef WRK_PLUGIN_REGISTRY_H
#define WRK_PLUGIN_REGISTRY_H

#include "worker_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wrk_plugin_registry wrk_plugin_registry;

typedef struct wrk_plugin_settings {
    const char *path;     /* ':'-separated directories searched first, or NULL */
    const char *prefer;   /* "arch=plugin,arch=plugin", or NULL */
    const char *disable;  /* "plugin,plugin", or NULL */
    int skip_default_dirs; /* 1: do not search WORKER_PLUGIN_PATH and pkglibdir (tests) */
} wrk_plugin_settings;

/** Scan the search path. Always succeeds unless out of memory (bad modules are skipped
 *  and logged). */
int wrk_plugins_open(const wrk_plugin_settings *s, wrk_plugin_registry **out);
void wrk_plugins_close(wrk_plugin_registry *r);

/** The plugin serving architecture for backend, or NULL + CUDA_ERROR_MODEL_LOAD_FAILED
 *  detail listing the architectures that are served. */
const wp_plugin *wrk_plugins_find(wrk_plugin_registry *r, const char *architecture,
                                  int backend);

/** Check one descriptor against this runtime's ABI: 0 or an error whose detail names both
 *  versions (used by the loader and by tests). */
int wrk_plugin_check_descriptor(const wp_plugin *p, const char *module_path);

/** 1 when descriptor p, as its plugin sized it (struct_size), holds the appended member and
 *  sets it. The runtime reads every member after forward (ABI 1.2 and later) through this,
 *  so a 1.0/1.1 descriptor, or a struct of a test that is not the registry's copy, is
 *  never read past its end. */
#define WRK_PLUGIN_HAS(p, member) (WP_STRUCT_HAS(p, wp_plugin, member) && (p)->member != NULL)

/** Count of accepted plugins; name of the i-th. */
int wrk_plugins_count(const wrk_plugin_registry *r);
const wp_plugin *wrk_plugins_get(const wrk_plugin_registry *r, int i);

#ifdef __cplusplus
}
#endif
#endif
