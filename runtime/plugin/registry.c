/*
 * registry.c - find, check and choose architecture plugins with libltdl (see registry.h).
 *
 * Every module in every search directory is opened with lt_dlopenext (local symbols, so
 * two plugins never see each other's entry points), its entry symbol resolved, its
 * descriptor checked against this runtime's ABI and copied into storage of the runtime's
 * size (members a smaller, older descriptor lacks read as NULL). A module that fails any
 * step is logged with the reason and closed; scanning goes on. Accepted modules stay open
 * until the registry is closed, since their descriptors and code live in them.
 *
 * libltdl keeps global state and its error string is not thread-safe, so every lt_* call
 * happens under one mutex.
 */
#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ltdl.h>

#include "core/wrk_error.h"
#include "core/wrk_log.h"
#include "plugin/registry.h"

#ifndef WORKER_PKGLIBDIR
#define WORKER_PKGLIBDIR "/usr/local/lib/worker-orcd"
#endif

#define LOG_COMPONENT "plugin"

/* Size of ABI 1.0's descriptor: up to the end of its last member, forward. */
#define WRK_PLUGIN_SIZE_1_0 (offsetof(wp_plugin, forward) + sizeof(((wp_plugin *)0)->forward))

typedef struct plugin_entry {
    lt_dlhandle handle;
    wp_plugin desc;      /* copy, runtime-sized; strings point into the module */
    char *module;        /* module name (file name without extension) */
    char *path;          /* directory/module as opened */
} plugin_entry;

struct wrk_plugin_registry {
    plugin_entry *items;
    int n, cap;
    char **seen;         /* module names met so far (first wins) */
    int n_seen, cap_seen;
    char *prefer;
    char *disable;
};

static pthread_mutex_t ltdl_lock = PTHREAD_MUTEX_INITIALIZER;

/* --- small helpers --- */

/* The one place that turns a dlsym result into a function pointer (ISO C has no cast
 * between object and function pointers; the bytes are the same on every platform we
 * support). */
static wp_entry_fn lookup_entry(lt_dlhandle h, const char *symbol)
{
    void *p = lt_dlsym(h, symbol);
    wp_entry_fn fn = NULL;
    if (p) memcpy(&fn, &p, sizeof fn);
    return fn;
}

/* 1 when name appears in the sep-separated list. */
static int list_has(const char *list, char sep, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;
    if (!list || !*name) return 0;
    while (*p) {
        const char *end = strchr(p, sep);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        p += len;
        if (*p) p++;
    }
    return 0;
}

/* The plugin preferred for arch in "arch=plugin,..." copied into out, or 0 if none. */
static int prefer_for(const char *prefer, const char *arch, char *out, size_t cap)
{
    const char *p = prefer;
    size_t an = strlen(arch);
    if (!prefer) return 0;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq && (size_t)(eq - p) == an && strncmp(p, arch, an) == 0) {
            size_t vn = len - an - 1;
            if (vn >= cap) vn = cap - 1;
            memcpy(out, eq + 1, vn);
            out[vn] = '\0';
            return 1;
        }
        p += len;
        if (*p) p++;
    }
    return 0;
}

static int remember_module(wrk_plugin_registry *r, const char *module)
{
    if (r->n_seen == r->cap_seen) {
        int cap = r->cap_seen ? r->cap_seen * 2 : 16;
        char **s = realloc(r->seen, (size_t)cap * sizeof *s);
        if (!s) return CUDA_ERROR_OUT_OF_MEMORY;
        r->seen = s;
        r->cap_seen = cap;
    }
    if (!(r->seen[r->n_seen] = strdup(module))) return CUDA_ERROR_OUT_OF_MEMORY;
    r->n_seen++;
    return 0;
}

static int module_seen(const wrk_plugin_registry *r, const char *module)
{
    for (int i = 0; i < r->n_seen; i++)
        if (strcmp(r->seen[i], module) == 0) return 1;
    return 0;
}

/* --- the descriptor check --- */

int wrk_plugin_check_descriptor(const wp_plugin *p, const char *module_path)
{
    const char *path = module_path ? module_path : "?";
    /* Until the descriptor is known to be ours, name the plugin by its file. */
    const char *file = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *name;

    if (!p)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "plugin (%s): entry point returned no descriptor", path);
    /* Read nothing beyond the version fields before they are known good. */
    if (p->abi_major != WORKER_PLUGIN_ABI_MAJOR || p->abi_minor > WORKER_PLUGIN_ABI_MINOR) {
        name = (p->abi_major == WORKER_PLUGIN_ABI_MAJOR && p->struct_size >= WRK_PLUGIN_SIZE_1_0
                && p->name) ? p->name : file;
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "plugin '%s' (%s): ABI %u.%u, runtime ABI %d.%d (%s)", name, path,
                         p->abi_major, p->abi_minor, WORKER_PLUGIN_ABI_MAJOR,
                         WORKER_PLUGIN_ABI_MINOR,
                         p->abi_major != WORKER_PLUGIN_ABI_MAJOR
                             ? "major versions differ"
                             : "plugin needs a newer runtime");
    }
    if (p->struct_size < WRK_PLUGIN_SIZE_1_0)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "plugin '%s' (%s): ABI %u.%u, runtime ABI %d.%d: descriptor is %u "
                         "bytes, ABI 1.0 needs at least %zu",
                         file, path, p->abi_major, p->abi_minor, WORKER_PLUGIN_ABI_MAJOR,
                         WORKER_PLUGIN_ABI_MINOR, p->struct_size, WRK_PLUGIN_SIZE_1_0);
    name = p->name ? p->name : file;
#define NEED(member)                                                                       \
    if (!p->member)                                                                        \
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,                                    \
                         "plugin '%s' (%s): ABI %u.%u, runtime ABI %d.%d: missing %s", name,  \
                         path, p->abi_major, p->abi_minor, WORKER_PLUGIN_ABI_MAJOR,        \
                         WORKER_PLUGIN_ABI_MINOR, #member)
    NEED(name);
    NEED(architectures);
    NEED(load);
    NEED(unload);
    NEED(model_info);
    NEED(kv_size);
    NEED(kv_create);
    NEED(kv_free);
    NEED(forward);
#undef NEED
    if (!p->name[0] || !p->architectures[0] || !p->architectures[0][0])
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "plugin '%s' (%s): ABI %u.%u, runtime ABI %d.%d: empty name or "
                         "architecture list", name, path, p->abi_major, p->abi_minor,
                         WORKER_PLUGIN_ABI_MAJOR, WORKER_PLUGIN_ABI_MINOR);
    if (!(p->backends & ((1u << WP_BACKEND_HOST) | (1u << WP_BACKEND_CUDA))))
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "plugin '%s' (%s): ABI %u.%u, runtime ABI %d.%d: serves no backend",
                         name, path, p->abi_major, p->abi_minor, WORKER_PLUGIN_ABI_MAJOR,
                         WORKER_PLUGIN_ABI_MINOR);
    /* the pipelined greedy pair (ABI 1.3) is one feature: half of it is a plugin bug */
    if (WRK_PLUGIN_HAS(p, greedy_queue) != WRK_PLUGIN_HAS(p, greedy_collect))
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "plugin '%s' (%s): ABI %u.%u, runtime ABI %d.%d: greedy_queue and "
                         "greedy_collect come together; it sets only %s", name, path,
                         p->abi_major, p->abi_minor, WORKER_PLUGIN_ABI_MAJOR,
                         WORKER_PLUGIN_ABI_MINOR,
                         WRK_PLUGIN_HAS(p, greedy_queue) ? "greedy_queue" : "greedy_collect");
    return 0;
}

/* --- opening one module --- */

/* Open dir/module, check it and append it to r. 0 when accepted or rejected (rejections
 * are logged, never fatal); CUDA_ERROR_OUT_OF_MEMORY only. Called with ltdl_lock held. */
static int try_module(wrk_plugin_registry *r, const char *dir, const char *module)
{
    char *path = NULL;
    char sym[300];
    lt_dlhandle h = NULL;
    lt_dladvise adv = NULL;
    wp_entry_fn entry;
    const wp_plugin *p;
    size_t n;

    if (asprintf(&path, "%s/%s", dir, module) < 0) return CUDA_ERROR_OUT_OF_MEMORY;
    if (list_has(r->disable, ',', module)) {
        wrk_log(WRK_LOG_INFO, LOG_COMPONENT, "%s: disabled by [plugins] disable", path);
        goto reject;
    }
    if (lt_dladvise_init(&adv) == 0 && lt_dladvise_ext(&adv) == 0 && lt_dladvise_local(&adv) == 0)
        h = lt_dlopenadvise(path, adv);
    else
        h = lt_dlopenext(path);
    if (adv) lt_dladvise_destroy(&adv);
    if (!h) {
        const char *e = lt_dlerror();
        wrk_log(WRK_LOG_WARN, LOG_COMPONENT, "rejected %s: cannot open: %s", path,
                e ? e : "unknown error");
        goto reject;
    }
    entry = lookup_entry(h, WORKER_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        /* libltdl's convention for preloaded/static modules: <module>_LTX_<symbol>, with
         * characters that cannot appear in an identifier replaced by '_'. */
        snprintf(sym, sizeof sym, "%s_LTX_%s", module, WORKER_PLUGIN_ENTRY_SYMBOL);
        for (char *c = sym; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '_') *c = '_';
        entry = lookup_entry(h, sym);
    }
    if (!entry) {
        wrk_log(WRK_LOG_WARN, LOG_COMPONENT,
                "rejected %s: not a worker-orcd plugin (no symbol %s or %s)", path,
                WORKER_PLUGIN_ENTRY_SYMBOL, sym);
        goto reject;
    }
    p = entry();
    if (wrk_plugin_check_descriptor(p, path) != 0) {
        wrk_log(WRK_LOG_WARN, LOG_COMPONENT, "rejected: %s", wrk_error_detail());
        goto reject;
    }
    if (strcmp(p->name, module) != 0 && list_has(r->disable, ',', p->name)) {
        wrk_log(WRK_LOG_INFO, LOG_COMPONENT, "%s: plugin '%s' disabled by [plugins] disable",
                path, p->name);
        goto reject;
    }
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 8;
        plugin_entry *items = realloc(r->items, (size_t)cap * sizeof *items);
        if (!items) goto oom;
        r->items = items;
        r->cap = cap;
    }
    memset(&r->items[r->n], 0, sizeof r->items[r->n]);
    n = p->struct_size < sizeof(wp_plugin) ? p->struct_size : sizeof(wp_plugin);
    memcpy(&r->items[r->n].desc, p, n);
    r->items[r->n].handle = h;
    r->items[r->n].path = path;
    if (!(r->items[r->n].module = strdup(module))) goto oom;
    r->n++;
    /* Accepted CUDA modules stay mapped for the life of the process (as ggml keeps its backend
     * handles): a module with CUDA kernels registers its fatbinary with the CUDA runtime
     * when it is mapped, and unmapping and re-mapping it between contexts left the runtime
     * with stale kernel handles (launches failing with "invalid argument", or hanging). A
     * later lt_dlopenext of the same file returns the same mapping. Host-only modules are
     * unloaded as usual. */
    if ((p->backends & (1u << WP_BACKEND_CUDA)) && lt_dlmakeresident(h) != 0)
        wrk_log(WRK_LOG_WARN, LOG_COMPONENT, "%s: could not make the module resident: %s",
                path, lt_dlerror());
    wrk_log(WRK_LOG_INFO, LOG_COMPONENT, "loaded plugin '%s' %s (ABI %u.%u) from %s", p->name,
            p->version ? p->version : "", p->abi_major, p->abi_minor, path);
    return 0;
reject:
    if (h) lt_dlclose(h);
    free(path);
    return 0;
oom:
    if (h) lt_dlclose(h);
    free(path);
    return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "plugin registry: out of memory");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Scan one directory: every *.la and *.so, by module name, in name order (so the choice
 * among duplicates does not depend on readdir order). Called with ltdl_lock held. */
static int scan_dir(wrk_plugin_registry *r, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (!d) {
        wrk_log(WRK_LOG_DEBUG, LOG_COMPONENT, "plugin directory %s: cannot open, skipped", dir);
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        char *name;
        if (len > 3 && (strcmp(de->d_name + len - 3, ".la") == 0 ||
                        strcmp(de->d_name + len - 3, ".so") == 0))
            len -= 3;
        else
            continue;
        if (n == cap) {
            size_t c2 = cap ? cap * 2 : 16;
            char **nn = realloc(names, c2 * sizeof *nn);
            if (!nn) { rc = CUDA_ERROR_OUT_OF_MEMORY; goto done; }
            names = nn;
            cap = c2;
        }
        if (!(name = strndup(de->d_name, len))) { rc = CUDA_ERROR_OUT_OF_MEMORY; goto done; }
        names[n++] = name;
    }
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i && strcmp(names[i], names[i - 1]) == 0) continue;   /* x.la and x.so */
        if (module_seen(r, names[i])) {
            wrk_log(WRK_LOG_INFO, LOG_COMPONENT,
                    "%s/%s: shadowed by module '%s' found earlier in the search path", dir,
                    names[i], names[i]);
            continue;
        }
        if ((rc = remember_module(r, names[i])) == 0) rc = try_module(r, dir, names[i]);
    }
done:
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    closedir(d);
    if (rc == CUDA_ERROR_OUT_OF_MEMORY)
        return wrk_error(rc, "plugin registry: out of memory scanning %s", dir);
    return rc;
}

/* Scan each directory of a ':'-separated list in order. */
static int scan_list(wrk_plugin_registry *r, const char *list)
{
    const char *p = list;
    char dir[4096];
    int rc = 0;
    while (p && *p && rc == 0) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len && len < sizeof dir) {
            memcpy(dir, p, len);
            dir[len] = '\0';
            rc = scan_dir(r, dir);
        }
        p += len;
        if (*p) p++;
    }
    return rc;
}

int wrk_plugins_open(const wrk_plugin_settings *s, wrk_plugin_registry **out)
{
    wrk_plugin_registry *r;
    int rc;

    if (!out) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "plugin registry: out is NULL");
    *out = NULL;
    if (!(r = calloc(1, sizeof *r)))
        return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "plugin registry: out of memory");
    if (s && s->prefer && !(r->prefer = strdup(s->prefer))) goto oom;
    if (s && s->disable && !(r->disable = strdup(s->disable))) goto oom;

    pthread_mutex_lock(&ltdl_lock);
    if (lt_dlinit() != 0) {
        const char *e = lt_dlerror();
        pthread_mutex_unlock(&ltdl_lock);
        free(r->prefer);
        free(r->disable);
        free(r);
        return wrk_error(CUDA_ERROR_UNKNOWN, "plugin registry: lt_dlinit failed: %s",
                         e ? e : "unknown error");
    }
    rc = scan_list(r, s ? s->path : NULL);
    if (rc == 0 && !(s && s->skip_default_dirs)) {
        rc = scan_list(r, getenv("WORKER_PLUGIN_PATH"));
        if (rc == 0) rc = scan_dir(r, WORKER_PKGLIBDIR "/plugins");
    }
    pthread_mutex_unlock(&ltdl_lock);
    if (rc != 0) {
        wrk_plugins_close(r);
        return rc;
    }
    if (r->n == 0)
        wrk_log(WRK_LOG_WARN, LOG_COMPONENT, "no architecture plugin found in the search path");
    *out = r;
    return 0;
oom:
    free(r->prefer);
    free(r->disable);
    free(r);
    return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "plugin registry: out of memory");
}

void wrk_plugins_close(wrk_plugin_registry *r)
{
    if (!r) return;
    pthread_mutex_lock(&ltdl_lock);
    for (int i = 0; i < r->n; i++) {
        lt_dlclose(r->items[i].handle);
        free(r->items[i].module);
        free(r->items[i].path);
    }
    lt_dlexit();
    pthread_mutex_unlock(&ltdl_lock);
    for (int i = 0; i < r->n_seen; i++) free(r->seen[i]);
    free(r->seen);
    free(r->items);
    free(r->prefer);
    free(r->disable);
    free(r);
}

static int serves(const wp_plugin *p, const char *arch)
{
    for (const char *const *a = p->architectures; *a; a++)
        if (strcmp(*a, arch) == 0) return 1;
    return 0;
}

/* Append the architectures served by r (deduplicated) to buf. */
static void list_served(const wrk_plugin_registry *r, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < r->n; i++)
        for (const char *const *a = r->items[i].desc.architectures; *a; a++) {
            int dup = 0;
            for (int j = 0; j <= i && !dup; j++)
                for (const char *const *b = r->items[j].desc.architectures; *b; b++) {
                    if (j == i && b == a) break;
                    if (strcmp(*a, *b) == 0) { dup = 1; break; }
                }
            if (dup) continue;
            int k = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", *a);
            if (k < 0 || (size_t)k >= cap - used) return;
            used += (size_t)k;
        }
}

const wp_plugin *wrk_plugins_find(wrk_plugin_registry *r, const char *architecture,
                                  int backend)
{
    char served[512], want[256], names[512];
    int first = -1, chosen = -1, n_cand = 0, wrong_backend = 0;
    size_t used = 0;

    if (!r || !architecture) {
        wrk_error(CUDA_ERROR_INVALID_PARAMETER, "plugin registry: NULL registry or architecture");
        return NULL;
    }
    if (backend != WP_BACKEND_HOST && backend != WP_BACKEND_CUDA) {
        wrk_error(CUDA_ERROR_INVALID_PARAMETER, "plugin registry: unknown backend %d", backend);
        return NULL;
    }
    int have_pref = prefer_for(r->prefer, architecture, want, sizeof want);
    names[0] = '\0';
    for (int i = 0; i < r->n; i++) {
        const wp_plugin *p = &r->items[i].desc;
        if (!serves(p, architecture)) continue;
        if (!(p->backends & (1u << backend))) { wrong_backend = 1; continue; }
        n_cand++;
        if (first < 0) first = i;
        if (have_pref && chosen < 0 && strcmp(p->name, want) == 0) chosen = i;
        int k = snprintf(names + used, sizeof names - used, "%s%s (%s)", used ? ", " : "",
                         p->name, r->items[i].path);
        if (k > 0 && (size_t)k < sizeof names - used) used += (size_t)k;
    }
    if (first < 0) {
        list_served(r, served, sizeof served);
        wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                  "no plugin serves architecture '%s'%s (served: %s)", architecture,
                  wrong_backend ? (backend == WP_BACKEND_CUDA ? " on the CUDA backend"
                                                              : " on the host backend")
                                : "",
                  served[0] ? served : "none; check [plugins] path and WORKER_PLUGIN_PATH");
        return NULL;
    }
    if (have_pref && chosen < 0)
        wrk_log(WRK_LOG_WARN, LOG_COMPONENT,
                "[plugins] prefer names '%s' for '%s', but it does not serve it; candidates: %s",
                want, architecture, names);
    if (chosen >= 0) {
        if (n_cand > 1)
            wrk_log(WRK_LOG_INFO, LOG_COMPONENT,
                    "architecture '%s': %d plugins serve it (%s); using '%s' ([plugins] prefer)",
                    architecture, n_cand, names, r->items[chosen].desc.name);
        return &r->items[chosen].desc;
    }
    if (n_cand > 1)
        wrk_log(WRK_LOG_INFO, LOG_COMPONENT,
                "architecture '%s': %d plugins serve it (%s); using '%s', the first found "
                "(set [plugins] prefer = %s=NAME to choose)",
                architecture, n_cand, names, r->items[first].desc.name, architecture);
    return &r->items[first].desc;
}

int wrk_plugins_count(const wrk_plugin_registry *r)
{
    return r ? r->n : 0;
}

const wp_plugin *wrk_plugins_get(const wrk_plugin_registry *r, int i)
{
    if (!r || i < 0 || i >= r->n) return NULL;
    return &r->items[i].desc;
}
